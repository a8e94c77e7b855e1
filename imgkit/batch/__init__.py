"""Many images at once: any registered method over folders, on Dask.

::

    import imgkit.batch as batch

    items = batch.inpaint_inputs("photos/", masks="masks/", pattern="{stem}_mask.png")
    summary = batch.run("inpaint", items, method="telea", out_dir="out/", seed=0)
    print(summary)                      # done / skipped / failed, images per second
    batch.run("inpaint", items, method="telea", out_dir="out/", seed=0, resume=True)  # the rest

On the command line: ``imgkit batch inpaint IMAGES --masks MASKS -o OUT --method M`` (and
``stylize``, ``analogy``); see :func:`cli_main` and ``docs/batch.md``.

How it runs
-----------
* **Engine**: :mod:`dask.distributed` (``pip install 'imgkit[batch]'``). With no ``scheduler``
  a :class:`~distributed.LocalCluster` of worker *processes* is started on this machine (see
  :func:`local_cluster` for the sizing rule); ``scheduler="tcp://host:8786"``, a scheduler
  file (``.json``) or a :class:`distributed.Client` runs the same job on an existing cluster.
* **Paths travel, not pixels**: each task gets file paths; the worker reads the inputs, runs
  the method and writes the output itself (atomically: temporary file + rename), so the client
  never holds the dataset. On a multi-machine cluster every worker must see the same paths
  (a shared filesystem).
* **GPU**: tasks with ``device="cuda"`` request the worker resource ``GPU=1`` so they run only
  on workers started with ``--resources GPU=1``.
* **Nothing lost**: the client (never a worker) appends one JSON line per finished input to
  ``OUT_DIR/manifest.jsonl`` (one ``write`` + ``fsync`` per record): status, method, options,
  seed, device, the inputs' size and modification time, the output's name, size and
  modification time, seconds, error. A record is written only after its output file is
  complete, so the manifest never points at a half-written output. ``resume=True`` skips an
  input whose latest record is ``done`` with the same task, method, options, requested seed,
  device and bit depth, whose input files are unchanged (same size and mtime) and whose output
  file is still the one recorded; everything else runs again. Ctrl-C, a killed worker (Dask
  re-runs its tasks; exceptions are retried ``retries`` times) or a lost node therefore lose at
  most the images in flight.
* **Bad inputs** (unreadable or truncated file, mask of the wrong size, missing mask) are
  recorded as ``failed`` with a message naming the file and the problem; the rest goes on.
  Suspicious masks (see :func:`imgkit.load_mask`) are run, with the warning in the record.
* **Inputs are safe**: the output folder may not be, contain or lie inside an input folder
  (outputs could replace photos or masks), must be creatable and writable, and existing
  outputs need ``resume`` or ``overwrite``; all of this is checked before anything is created
  (not even the output folder or ``manifest.jsonl``).
* **Stopping**: on Ctrl-C (or a callback's stop) the client drops a stop marker in the output
  folder; a task that finishes afterwards does not put its output in place, and outputs that
  raced the stop without reaching the manifest are removed, so every output file in the folder
  is in the manifest. Local workers are capped at the number of inputs to run.
* **Files**: EXIF orientation is applied on reading; EXIF and ICC profile of the image (content,
  B) are kept in JPEG and PNG outputs; outputs honour the umask; any file name the OS allows.

Code layout
-----------
One module per part, in the order of a run: ``_inputs`` (folders paired into
:class:`BatchItem` s), ``_manifest`` (the JSON-lines record that ``resume`` reads), ``_worker``
(the task a worker runs on one item), ``_cluster`` (the local cluster and connections),
``_summary`` (:class:`BatchSummary`), ``_run`` (:func:`run`: checks, plan, submit, collect) and
``_cli`` (``imgkit batch``). What this command line shares with ``imgkit`` (parser, method
options, common arguments, exit statuses) lives in :mod:`imgkit._cli_common`.

References
----------
.. [1] M. Rocklin, "Dask: Parallel Computation with Blocked algorithms and Task Scheduling",
   Proc. 14th Python in Science Conference (SciPy), 2015.
"""

from ._cli import cli_main
from ._cluster import default_workers, local_cluster
from ._errors import BatchError, BatchInterrupted
from ._inputs import BatchItem, analogy_inputs, inpaint_inputs, stylize_inputs
from ._manifest import MANIFEST_NAME, read_manifest
from ._run import CRASH_ONCE_ENV as CRASH_ONCE_ENV  # test hooks and the stop grace, as before
from ._run import SLOW_ENV as SLOW_ENV
from ._run import STOP_GRACE_S as STOP_GRACE_S
from ._run import run
from ._summary import BatchSummary

__all__ = [
    "MANIFEST_NAME",
    "BatchError",
    "BatchInterrupted",
    "BatchItem",
    "BatchSummary",
    "analogy_inputs",
    "cli_main",
    "default_workers",
    "inpaint_inputs",
    "local_cluster",
    "read_manifest",
    "run",
    "stylize_inputs",
]
