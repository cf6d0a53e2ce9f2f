"""Write the example configuration (the demo profile) to --config, to start a real one from.

The example ships inside the package (bot/examples/app.yaml, the checkout's app.yaml), so
an installed copy has it where no checkout is: `watchkeeper init-config --config
/etc/watchkeeper/app.yaml`, then set the secrets and point it at the workspace.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources


def example_config() -> bytes:
    return resources.files("bot").joinpath("examples", "app.yaml").read_bytes()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args: argparse.Namespace) -> int:
    target = args.config
    if target.exists() and not args.force:
        print(f"{target} exists; --force overwrites it", file=sys.stderr)
        return 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(example_config())
    except OSError as exc:
        print(f"{target}: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {target}: the demo profile; see README.md, `app.yaml` reference")
    return 0
