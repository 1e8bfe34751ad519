"""Disk and file hygiene of ``save``: OSErrors that name the path and the operation,
temporary files of killed saves removed by the next save (and only those), non-finite
weights refused."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import hostile as h
import numpy as np
import pytest

import layerkit as lk


def _old(path, seconds=3600):
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


# ---------------------------------------------------------------------------- OSErrors


def test_saving_under_a_path_whose_parent_is_a_file_names_the_path(tmp_path):
    net = h.trained_net()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as info:
        lk.save(net, tmp_path / "file" / "m.npz")
    assert str(tmp_path / "file") in str(info.value)
    assert "creating the folder" in str(info.value)


def test_saving_onto_a_folder_is_an_is_a_directory_error_with_the_path(tmp_path):
    net = h.trained_net()
    (tmp_path / "m.npz").mkdir()
    with pytest.raises(IsADirectoryError, match=r"m\.npz"):
        lk.save(net, tmp_path / "m.npz")


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere"
)
def test_saving_into_a_read_only_folder_is_a_permission_error_with_the_path(tmp_path):
    net = h.trained_net()
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"ro"):
            lk.save(net, folder / "m.npz")
    finally:
        folder.chmod(0o700)


def test_a_full_disk_keeps_the_errno_and_names_the_path_and_the_operation(tmp_path, monkeypatch):
    net = h.trained_net()
    path = lk.save(net, tmp_path / "m.npz")
    before = path.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        lk.save(net, path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert "m.npz" in str(info.value) and "flushing the model file" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_an_unreadable_model_file_is_an_os_error_with_the_path(tmp_path, monkeypatch):
    path = lk.save(h.trained_net(), tmp_path / "m.npz")
    real_open = open

    def refuse(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(PermissionError, match=r"m\.npz.*|opening the model file"):
        lk.load(path)


# ---------------------------------------------------------------------------- temporary files


def test_the_next_save_removes_stale_temporary_files_of_that_target_only(tmp_path):
    net = h.trained_net()
    stale = tmp_path / ".m.npz.abcd1234.tmp"
    stale.write_bytes(b"PK partial")
    _old(stale)
    fresh = tmp_path / ".m.npz.zzzz9999.tmp"
    fresh.write_bytes(b"being written right now")
    other = tmp_path / ".other.npz.abcd1234.tmp"
    other.write_bytes(b"x")
    _old(other)
    lookalike = tmp_path / ".m.npz.abcd.tmp"
    lookalike.write_bytes(b"x")
    _old(lookalike)
    lk.save(net, tmp_path / "m.npz")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["m.npz", fresh.name, other.name, lookalike.name])


@pytest.mark.skipif(sys.platform == "win32", reason="advisory locks are POSIX")
def test_a_temporary_file_locked_by_a_live_save_is_left_alone(tmp_path):
    net = h.trained_net()
    busy = tmp_path / ".m.npz.live0000.tmp"
    busy.write_bytes(b"PK")
    _old(busy)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, sys, time
                f = open({str(busy)!r}, "rb")
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                print("locked", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        lk.save(net, tmp_path / "m.npz")
        assert busy.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    lk.save(net, tmp_path / "m.npz")  # the lock is gone: now it is stale
    assert not busy.exists()


SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import layerkit as lk
    net = lk.Network([lk.Input(300), lk.Dense(300), lk.Dense(3, "softmax")], seed=0)
    print("ready", flush=True)
    while True:
        lk.save(net, sys.argv[1])
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_temporary_files_of_saves_killed_with_sigkill_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / "m.npz"
    rng = np.random.default_rng(0)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(target)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    for p in leftovers:
        _old(p)  # as the next save would find them a few seconds later
    net = lk.Network([lk.Input(300), lk.Dense(300), lk.Dense(3, "softmax")], seed=0)
    if target.exists():  # every kill left either the old file or a complete new one
        assert np.array_equal(lk.load(target).get_weights()[0], net.get_weights()[0])
    lk.save(net, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ---------------------------------------------------------------------------- non-finite weights


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_save_refuses_non_finite_weights_naming_layer_and_parameter(tmp_path, bad):
    net = h.trained_net()
    layer = net.layers[2]
    layer.params["b"][1] = bad
    with pytest.raises(lk.LayerkitValueError, match=rf"parameter 'b' of layer '{layer.name}'.*NaN"):
        lk.save(net, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_non_finite_optimizer_slots(tmp_path):
    net = h.trained_net()
    net.optimizer.slots[0]["v"][0, 0] = np.inf
    with pytest.raises(lk.LayerkitValueError, match=r"optimiser slot 'v' of parameter 0"):
        lk.save(net, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_concurrent_savers_to_one_path_never_remove_each_others_files(tmp_path):
    """Four threads save to one path at once, each after backdating every temporary file
    it sees (as if stale): the locks alone must keep live writes from being removed."""
    import threading

    nets = [h.trained_net(seed=s) for s in range(4)]
    target = tmp_path / "m.npz"
    errors = []

    def work(net):
        try:
            for _ in range(10):
                for p in tmp_path.glob(".m.npz.*.tmp"):
                    try:
                        _old(p)
                    except OSError:
                        pass
                lk.save(net, target)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    weights = lk.load(target).get_weights()[0]
    assert any(np.array_equal(weights, n.get_weights()[0]) for n in nets)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
