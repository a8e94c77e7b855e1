"""PyTorch networks and pretrained-weight loading (imported only by deep methods)."""
