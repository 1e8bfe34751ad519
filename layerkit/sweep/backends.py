"""Where tasks run: in this process, in joblib's loky worker processes, or on Dask.

Each backend takes the tasks and one shared :class:`~layerkit.sweep.tasks.Job` and yields
the records as tasks finish (in any order). joblib and dask are imported here, only when
a sweep runs on them, so ``import layerkit`` never loads them.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .._validation import LayerkitTypeError, LayerkitValueError
from .tasks import ArrayFile, Job, Task, failed, new_record, run_task

__all__ = ["available_cores", "run_dask", "run_loky", "run_serial"]

#: arrays larger than this go to workers as a shared file rather than inside each task
_SHARE_BYTES = 1 << 20


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def run_serial(tasks: Sequence[Task], job: Job, threads: int | None) -> Iterator[dict]:
    """Run the tasks one after another in this process."""
    for task in tasks:
        yield run_task(task, job, threads)


def check_picklable(obj: Any, argument: str) -> None:
    """Refuse an object cloudpickle cannot send to a worker process, naming ``argument``."""
    try:
        import cloudpickle
    except ImportError:  # joblib vendors it
        from joblib.externals import cloudpickle
    try:
        cloudpickle.dumps(obj)
    except Exception as exc:
        raise LayerkitTypeError(
            f"{argument} must be picklable to run on worker processes (n_jobs > 1 or "
            f"backend='dask'); pickling {obj!r} failed: {type(exc).__name__}: {exc}. Define "
            "it as a module-level function whose arguments are plain values (a lambda or "
            "closure works if everything it refers to pickles), or use n_jobs=1"
        ) from exc


def check_travels(job: Job) -> None:
    """Refuse a job whose recipe, scorer or train arguments cannot reach a worker."""
    check_picklable(job.build, "build")
    if callable(job.scoring):
        check_picklable(job.scoring, "scoring")
    check_picklable(dict(job.train_kwargs or {}), "the train arguments")


def _mapped_file(array: np.ndarray) -> ArrayFile | None:
    """The file behind a whole, C-ordered ``numpy.memmap`` (not a view of one), or None."""
    if not (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap)):
        return None
    if not array.flags.c_contiguous or not array.filename:
        return None
    return ArrayFile(str(array.filename), array.dtype.str, tuple(array.shape), int(array.offset))


@contextlib.contextmanager
def _shared_arrays(job: Job) -> Iterator[Job]:
    """The job with its large arrays as files the workers map: a memmap's own file, or a
    ``.npy`` written once to a temporary folder."""
    big = {
        name: getattr(job, name)
        for name in ("X", "y", "X_val", "y_val")
        if isinstance(getattr(job, name), np.ndarray) and getattr(job, name).nbytes > _SHARE_BYTES
    }
    files = {name: _mapped_file(array) for name, array in big.items()}
    files = {name: f for name, f in files.items() if f is not None}
    to_write = {name: array for name, array in big.items() if name not in files}
    if not to_write:
        yield replace(job, **files)
        return
    total = sum(a.nbytes for a in to_write.values())
    # RAM-backed when it has room (as joblib does), else the ordinary temporary folder.
    shm = "/dev/shm"
    use_shm = os.path.isdir(shm) and shutil.disk_usage(shm).free > 2 * total
    folder = tempfile.mkdtemp(prefix="layerkit-sweep-", dir=shm if use_shm else None)
    try:
        for name, array in to_write.items():
            path = os.path.join(folder, f"{name}.npy")
            np.save(path, np.ascontiguousarray(array))
            files[name] = ArrayFile(path)
        yield replace(job, **files)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_loky(tasks: Sequence[Task], job: Job, threads: int | None, n_jobs: int) -> Iterator[dict]:
    """Run the tasks on ``n_jobs`` loky worker processes (joblib), results as they finish."""
    from joblib import Parallel, delayed

    check_travels(job)
    with _shared_arrays(job) as shared:
        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
        yield from parallel(delayed(run_task)(task, shared, threads) for task in tasks)


def _dask_client(client: Any) -> tuple[Any, bool]:
    """``(Client, owned)``: a given Client, or a new one connected to a scheduler address."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(
            "backend='dask' needs dask.distributed: pip install \"layerkit[dask]\""
        ) from exc
    if isinstance(client, Client):
        return client, False
    if isinstance(client, str):
        return Client(client, set_as_default=False, timeout="20s"), True
    raise LayerkitTypeError(
        "backend='dask' needs client= a distributed.Client or a scheduler address such as "
        f"'tcp://10.0.0.5:8786'; received {type(client).__name__} {client!r}"
    )


def _threads_per_worker(client: Any) -> dict[str, int]:
    """BLAS threads for each worker: its host's cores shared by the host's task slots."""
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # distributed before 2025.1 lists every worker by default
        workers = client.scheduler_info()["workers"]
    cores = client.run(available_cores)
    slots: dict[str, int] = {}
    for info in workers.values():
        slots[info["host"]] = slots.get(info["host"], 0) + int(info["nthreads"])
    return {
        address: max(1, cores.get(address, 1) // max(1, slots[info["host"]]))
        for address, info in workers.items()
    }


def run_dask(tasks: Sequence[Task], job: Job, threads: int | None, client: Any) -> Iterator[dict]:
    """Run the tasks on a Dask cluster; each record is yielded once, as it arrives.

    The data go to every worker once (``scatter``). A finished future is released at
    once, so a worker lost later does not make the scheduler compute it again; a task
    whose workers keep dying (``KilledWorker``) or that fails outside ``run_task`` comes
    back as an error record.
    """
    if client is None:
        raise LayerkitValueError(
            "backend='dask' needs client= a distributed.Client or a scheduler address such "
            "as 'tcp://10.0.0.5:8786'; received None"
        )
    check_travels(job)
    client, owned = _dask_client(client)
    from distributed import as_completed

    futures: list[Any] = []
    try:
        limit: int | dict[str, int] = (
            threads if threads is not None else _threads_per_worker(client)
        )
        shared = client.scatter(job, broadcast=True, hash=False)
        by_key = {f"layerkit-sweep-{task.key}": task for task in tasks}
        futures = [
            client.submit(run_task, task, shared, limit, key=key, pure=False)
            for key, task in by_key.items()
        ]
        for future in as_completed(futures, loop=client.loop):
            task = by_key[future.key]
            try:
                record = future.result()
            except Exception as exc:
                if not job.capture_errors:
                    raise
                record = _lost_task_record(task, exc)
            future.release()
            yield record
    finally:
        # A sweep stopped early (an exception, Ctrl-C) leaves nothing running.
        client.cancel([f for f in futures if not f.done()])
        if owned:
            client.close()


def _lost_task_record(task: Task, exc: BaseException) -> dict:
    import traceback

    return failed(new_record(task), "".join(traceback.format_exception(exc)))
