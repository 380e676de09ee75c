"""The machine and its Python packages, and every project module imported once.

    python -m bench.environment [--with-motmetrics]

Prints the versions of Python and the packages the project uses (read from their metadata, so
an absent optional package is reported, not imported), the device torch sees, and imports every
module of the project (the entry scripts, the packages below the repository root; not the tests
and no ``__main__`` module). ``metrics.motmetrics_backend`` needs the optional ``motmetrics``
package and is imported only with ``--with-motmetrics``; otherwise this also checks that no other
module pulled ``motmetrics`` in. Exit status 1 when an import failed, else 0.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import platform
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "opencv-python-headless", "opencv-python", "PyYAML",
            "tqdm", "matplotlib", "motmetrics", "pytest")
OPTIONAL = {"metrics.motmetrics_backend": "motmetrics"}  # module -> the optional package it needs


def project_modules(root: Path = ROOT) -> list:
    """Dotted names of the project's modules: top-level scripts and every package's modules."""
    names = [p.stem for p in sorted(root.glob("*.py"))]
    tops = [d for d in sorted(root.iterdir()) if (d / "__init__.py").is_file() and d.name != "tests"]
    for init in (i for top in tops for i in sorted(top.rglob("__init__.py"))):
        dotted = ".".join(init.parent.relative_to(root).parts)
        names.append(dotted)
        names += [f"{dotted}.{p.stem}" for p in sorted(init.parent.glob("*.py"))
                  if p.stem not in ("__init__", "__main__")]
    return names


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def device_line() -> str:
    import torch
    if not torch.cuda.is_available():
        return f"device: CPU only ({torch.get_num_threads()} threads)"
    props = torch.cuda.get_device_properties(0)
    return (f"device: {props.name}, {props.total_memory / 2**30:.0f} GiB, compute capability "
            f"{props.major}.{props.minor}, {torch.cuda.device_count()} GPU(s), CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}, bf16 {torch.cuda.is_bf16_supported()}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--with-motmetrics", action="store_true", help="import metrics.motmetrics_backend too")
    args = p.parse_args(argv)
    print(f"python {platform.python_version()} ({sys.executable}), {platform.machine()}")
    print("packages: " + ", ".join(f"{name} {version(name)}" for name in PACKAGES))
    print(device_line())
    failed, skipped = [], [] if args.with_motmetrics else list(OPTIONAL)
    names = [name for name in project_modules() if name not in skipped]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # report every module that does not import, not only the first
            failed.append(name)
            print(f"import {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
    pulled = sorted(pkg for module, pkg in OPTIONAL.items()
                    if not args.with_motmetrics and pkg in sys.modules)
    if pulled:
        print(f"optional packages imported although not asked for: {pulled}", file=sys.stderr)
    print(f"imports: {len(names) - len(failed)} of {len(names)} project modules"
          f"{' (not asked for: ' + ', '.join(skipped) + ')' if skipped else ''}"
          f"{'; FAILED: ' + ', '.join(failed) if failed else ', all fine'}")
    return 1 if failed or pulled else 0


if __name__ == "__main__":
    sys.exit(main())
