"""Style-transfer and image-analogy methods, one module each; each registers on import."""
