"""`RunDir`: where a command's outputs are written, so that nothing is clobbered and a kill never leaves a state
that looks finished but is not.

Two layouts:

- a folder (``build -o DIR``): ``DIR/<sinks>``, ``DIR/rejects.jsonl``, ``DIR/manifest.json``;
- a file (``convert -o OUT``): ``OUT``, ``OUT.rejects.jsonl`` and ``OUT.manifest.json`` beside it.

Everything is written into a temporary folder beside the output (``.NAME.tmp-PID``), the manifest last, and only
then moved into place:

- a folder is swapped with the old one in one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux), so DIR always holds
  either the old complete build or the new one; where the exchange is unavailable, DIR is moved aside and the new
  folder renamed in, and a run killed between the two renames is finished by the next run;
- a file's old manifest is removed first, then the outputs are renamed into place and the new manifest last: a
  manifest beside the outputs always describes them, and a run killed before its manifest moved is finished by
  the next run (whose first step, `recover`, moves what the dead run left).

Before anything is written, an output that would clobber what it should not is refused (`UsageError`, exit 2):
an output equal to an input or inside an input folder, and an existing output that is not an earlier output of
the same command, unless ``overwrite``; a folder that holds an input, the data root or the working directory,
always. Temporaries of dead runs of the same output are removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from agentflan import __version__
from agentflan.errors import AgentflanError, UsageError
from agentflan.files import (
    pid_alive,
    remove_stale_temporaries,
    sha256_file,
    temporary_path,
    write_json_atomic,
)
from agentflan.paths import data_root
from agentflan.pipeline.inputs import Inputs
from agentflan.pipeline.sinks import RecordSink

MANIFEST = "manifest.json"
REJECTS = "rejects.jsonl"
_OLD = ".old-"


class RunDir:
    """The outputs of one run of ``command``: a folder, or (``file=True``) one file with its sidecars.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> with RunDir(out, "demo") as run:
    ...     run.sink("records.jsonl").write({"id": "a"})
    ...     run.rejects.write({"source": "x.jsonl", "line": 3, "reason": "invalid_json"})
    ...     manifest = run.manifest(read=2, written=1, rejected=1)
    >>> sorted(p.name for p in out.iterdir())
    ['manifest.json', 'records.jsonl', 'rejects.jsonl']
    >>> manifest["command"], [(o["path"], o["records"]) for o in manifest["outputs"]]
    ('demo', [('records.jsonl', 1), ('rejects.jsonl', 1)])
    >>> import shutil; shutil.rmtree(out.parent)
    """

    def __init__(self, out: str | Path, command: str, *, file: bool = False,
                 inputs: Inputs | Iterable[str | Path] = (), overwrite: bool = False,
                 argv: list[str] | None = None) -> None:
        self.out = Path(out)
        self.command = command
        self.file = file
        self.reads = inputs if isinstance(inputs, Inputs) else None
        # The paths an output must not replace: an `Inputs`'s are listed when they are checked, not held for the
        # run (a `Path` per input file: a build at 30x the corpora peaked 1.9 MiB lower without them).
        self._named: list[Path] = [] if isinstance(inputs, Inputs) else [Path(p) for p in inputs]
        self.overwrite = overwrite
        self.argv = argv
        self.tmp = temporary_path(self.out)
        self._sinks: dict[str, tuple[RecordSink, dict[str, Any]]] = {}
        self._manifest: dict[str, Any] | None = None
        self._entered = False

    # -- names ---------------------------------------------------------------------------------------------------

    def _name(self, role: str) -> str:
        """The file name of the rejects or the manifest in this layout."""
        if self.file:
            return f"{self.out.name}.{role}"
        return {"rejects.jsonl": REJECTS, "manifest.json": MANIFEST}[role]

    def final(self, name: str) -> Path:
        """Where a file written as ``name`` ends up."""
        return self.out.parent / name if self.file else self.out / name

    @property
    def manifest_path(self) -> Path:
        return self.final(self._name("manifest.json"))

    @property
    def rejects_path(self) -> Path:
        return self.final(self._name("rejects.jsonl"))

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> RunDir:
        check_target(self.out, self.file)
        recover(self.out, self.file)
        self._refuse_clobbering()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self._entered = True
        return self

    def sink(self, name: str | None = None, **annotations: Any) -> RecordSink:
        """An open sink for ``name`` (a file in the folder; in the file layout, the output itself when None),
        closed by the run before its manifest. ``annotations`` go into the manifest's entry for the file."""
        if not self._entered:
            raise RuntimeError("RunDir.sink() outside `with RunDir(...)`")
        name = name or self.out.name
        if name not in self._sinks:
            self._sinks[name] = (RecordSink(self.tmp / name).__enter__(), dict(annotations))
        return self._sinks[name][0]

    def annotate(self, name: str, **notes: Any) -> None:
        """Add ``notes`` to the manifest's entry for an output opened with `sink` (counts known only once it is
        written, such as the masks an export could not hold)."""
        self._sinks[name][1].update(notes)

    @property
    def rejects(self) -> RecordSink:
        """The sink of rejected records (``rejects.jsonl``, or ``OUT.rejects.jsonl``)."""
        return self.sink(self._name("rejects.jsonl"))

    @property
    def folder(self) -> Path:
        """The temporary folder: files a command writes itself (a companion file) go here."""
        return self.tmp

    def manifest(self, **extra: Any) -> dict[str, Any]:
        """Close the sinks and write the manifest: `manifest_header`, ``extra`` (the command's counts), the
        files read (the `Inputs` the run was given: ``inputs``, each with its sha256, licence and counts, unless
        ``extra`` gives its own entries, and ``side_files``, every file their readers opened beside them), and
        every output with its sha256. When ``extra`` holds ``read``, ``written`` and ``rejected``, they must
        add up. Written into the temporary folder: nothing moves before it exists."""
        for sink, _ in self._sinks.values():
            sink.close()
        read, written, rejected = (extra.get(k) for k in ("read", "written", "rejected"))
        if isinstance(read, int) and isinstance(written, int) and isinstance(rejected, int) \
                and read != written + rejected:
            raise AgentflanError(f"internal error: read {read} != written {written} + rejected {rejected}; "
                                 "nothing was written")
        manifest = manifest_header(self.command, self.argv)
        if self.reads is not None:
            if "inputs" not in extra:  # not made only to be replaced: one dict per input file
                manifest["inputs"] = self.reads.entries()
            manifest["side_files"] = self.reads.side_files()
        manifest.update(extra)
        manifest["outputs"] = self._outputs()
        main = next((o for o in manifest["outputs"] if o["path"] == self.out.name), None) if self.file else None
        if main is not None:
            manifest["output"] = {"path": main["path"], "sha256": main["sha256"], "records": main.get("records")}
        write_json_atomic(self.tmp / self._name("manifest.json"), manifest)
        self._manifest = manifest
        return manifest

    def _outputs(self) -> list[dict[str, Any]]:
        entries = []
        for name, (sink, notes) in self._sinks.items():
            entries.append({"path": name, **notes, "records": sink.count,
                            "sha256": sink.sha256 or sha256_file(self.tmp / name)})
        for extra in sorted(p.name for p in self.tmp.iterdir() if p.name not in self._sinks):
            if extra != self._name("manifest.json") and (self.tmp / extra).is_file():
                entries.append({"path": extra, "sha256": sha256_file(self.tmp / extra)})
        return entries

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            for sink, _ in self._sinks.values():
                with contextlib.suppress(Exception):
                    sink.discard()
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self._manifest is None:
            self.manifest()
        try:
            if self.file:
                self._commit_files()
            else:
                commit_folder(self.tmp, self.out)
        except OSError as exc:
            raise AgentflanError(f"{self.out}: cannot move the output into place ({exc.strerror or exc}); it is "
                                 f"complete in {self.tmp}") from None

    def _commit_files(self) -> None:
        names = [n for n in self._written() if n != self._name("manifest.json")]
        manifest = self._name("manifest.json")
        step("remove the old manifest", lambda: self.manifest_path.unlink(missing_ok=True))
        for name in names:
            step(f"move {name}", lambda n=name: os.replace(self.tmp / n, self.final(n)))  # type: ignore[misc]
        step("move the manifest", lambda: os.replace(self.tmp / manifest, self.manifest_path))
        step("remove the temporary folder", lambda: shutil.rmtree(self.tmp, ignore_errors=True))

    def _written(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if p.is_file())

    # -- refusals ------------------------------------------------------------------------------------------------

    def _refuse_clobbering(self) -> None:
        out = _absolute(self.out)
        targets = [out] if not self.file else [out, _absolute(self.rejects_path), _absolute(self.manifest_path)]
        for given in self.reads.guarded() if self.reads is not None else self._named:
            inp = _absolute(given)
            if not self.file and _within(inp, out):
                raise UsageError(f"-o {self.out} holds the input {given}: replacing it would delete the input; "
                                 "write the output elsewhere")
            hit = next((t for t in targets if t == inp or (given.is_dir() and _within(t, inp))), None)
            if hit is not None and not self.overwrite:
                what = "is the input" if hit == inp else "is inside the input folder"
                raise UsageError(f"-o {self.out}: {hit.name} {what} {given}; write the output elsewhere (or "
                                 "--overwrite to replace the input)")
        if not self.file:
            for guarded, what in ((data_root(), "the data root"), (Path.cwd(), "the working directory")):
                if _within(_absolute(guarded), out):
                    raise UsageError(f"-o {self.out} holds {what} ({guarded}); replacing it would delete it")
        if self.overwrite or self._is_earlier_output():
            return
        raise UsageError(f"-o {self.out}: {self._occupied()}, and not an earlier `agentflan {self.command}` output; "
                         "choose another path, or --overwrite to replace it")

    def _is_earlier_output(self) -> bool:
        """True when nothing would be clobbered: the output is absent (or an empty folder), or an earlier output
        of this command."""
        if self.file:
            present = [p for p in (self.out, self.rejects_path, self.manifest_path) if p.exists()]
            return not present or manifest_command(self.manifest_path) == self.command
        if not self.out.exists() or not any(self.out.iterdir()):
            return True
        return manifest_command(self.out / MANIFEST) == self.command

    def _occupied(self) -> str:
        if self.file:
            return "the file exists" if self.out.exists() else "its rejects or manifest file exists"
        return "the folder is not empty"


def manifest_header(command: str, argv: list[str] | None) -> dict[str, Any]:
    """What every agentflan manifest starts with: the version that wrote it, the command and its arguments."""
    return {"agentflan_version": __version__, "command": command, "argv": argv}


def manifest_command(path: Path) -> str | None:
    """The ``command`` an agentflan manifest names, or None when ``path`` is no such manifest."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "agentflan_version" not in data:
        return None
    command = data.get("command")
    return command if isinstance(command, str) else None


def check_target(out: Path, file: bool) -> None:
    """A usage error when ``out`` cannot be the output: a folder where a file is wanted (or the reverse), or a
    path under a file."""
    if file and out.is_dir():
        raise UsageError(f"-o {out} is a folder; give a file name, e.g. {out / 'out.jsonl'}")
    if not file and out.exists() and not out.is_dir():
        raise UsageError(f"-o {out} is a file; give a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"-o {out}: {parent} is a file, not a folder")
            break


def recover(out: Path, file: bool) -> list[str]:
    """Finish or clean up what dead runs left for ``out``; what was done, in words.

    A dead run's temporary folder that holds a complete manifest is moved into place when the output it was
    replacing is gone or has no manifest (the run was killed while moving its outputs); otherwise it is removed,
    like every other temporary of ``out`` and its sidecars whose process is gone."""
    done: list[str] = []
    for tmp in _dead(out, ".tmp-"):
        if not tmp.is_dir():
            continue
        if file:
            manifest = tmp / f"{out.name}.manifest.json"
            sidecar = out.with_name(f"{out.name}.manifest.json")
            if manifest.is_file() and not sidecar.exists():
                for name in sorted(p.name for p in tmp.iterdir() if p.is_file() and p != manifest):
                    os.replace(tmp / name, out.parent / name)
                os.replace(manifest, sidecar)
                done.append(f"finished moving a killed run's output from {tmp.name}")
        elif (tmp / MANIFEST).is_file() and not out.exists():
            tmp.rename(out)
            done.append(f"finished moving a killed run's output from {tmp.name}")
    for old in _dead(out, _OLD):
        if not out.exists():
            old.rename(out)
            done.append(f"restored the previous output from {old.name}")
    targets = [out] if not file else [out, out.with_name(f"{out.name}.rejects.jsonl"),
                                      out.with_name(f"{out.name}.manifest.json")]
    for target in targets:
        done.extend(f"removed {p.name}" for p in remove_stale_temporaries(target))
    for old in _dead(out, _OLD):
        shutil.rmtree(old, ignore_errors=True)
        done.append(f"removed {old.name}")
    return done


def _dead(out: Path, marker: str) -> list[Path]:
    prefix = f".{out.name}{marker}"
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        pid = name[len(prefix):]
        if name.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            found.append(out.parent / name)
    return found


def commit_folder(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` in the place of ``out``: one atomic exchange where the OS has it."""
    if not out.exists():
        step("move the folder into place", lambda: tmp.rename(out))
        return
    if _exchange_supported():
        try:
            step("exchange the folders", lambda: _exchange(tmp, out))
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
        else:
            step("remove the previous folder", lambda: shutil.rmtree(tmp, ignore_errors=True))
            return
    old = out.with_name(f".{out.name}{_OLD}{os.getpid()}")
    step("move the previous folder aside", lambda: out.rename(old))
    step("move the folder into place", lambda: tmp.rename(out))
    step("remove the previous folder", lambda: shutil.rmtree(old, ignore_errors=True))


def step(description: str, action: Callable[[], object]) -> None:
    """One step of moving outputs into place. Every such step passes here, so that a test can kill the process
    before any one of them."""
    del description
    action()


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange_supported() -> bool:
    return sys.platform.startswith("linux") and _libc() is not None


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc if hasattr(libc, "renameat2") else None
    except OSError:
        return None


def _exchange(a: Path, b: Path) -> None:
    libc = _libc()
    if libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(b))


def _absolute(p: Path) -> Path:
    return Path(os.path.realpath(p))


def _within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents

