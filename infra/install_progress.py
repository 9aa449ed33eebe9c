"""Turns an installer's log (read from stdin) into a few lines a newcomer can follow. uv's own summary lines
(resolved, prepared, installed: each with its time) pass through without its list of packages. pip, which
installs only where uv cannot, spends a minute or two: for it, how many packages are resolved so far, which
one, and when they are being installed; its `--quiet` says nothing at all, and its full log says too much.
Standard library only: it runs before anything is installed."""

import sys

EVERY = 20  # without a terminal (CI logs), one line per this many packages
UV_SUMMARIES = ("Resolved ", "Prepared ", "Installed ", "Uninstalled ", "Audited ")


def main() -> None:
    interactive = sys.stdout.isatty()
    resolved = 0
    for line in sys.stdin:
        words = line.split()
        if line.startswith(UV_SUMMARIES):
            print(f"  {line.strip()}", flush=True)
        elif line.startswith(("Collecting ", "Requirement already satisfied: ")):
            resolved += 1
            name = words[1] if line.startswith("Collecting") else words[3]
            if interactive:
                print(f"\r  resolved {resolved} packages: {name[:40]:<40}", end="", flush=True)
            elif resolved % EVERY == 0:
                print(f"  resolved {resolved} packages (latest: {name})", flush=True)
        elif line.startswith("Installing collected packages:"):
            count = len(line.split(":", 1)[1].split(","))
            print(f"{chr(13) if interactive else ''}  installing {count} packages into .venv...", flush=True)
        elif line.startswith("Successfully installed"):
            print(f"  done: {len(words) - 2} packages installed", flush=True)
        elif line.lstrip().startswith(("ERROR", "error")):
            print(line, end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
