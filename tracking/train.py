"""Train sutrack_dinov3 (SUTrack's tracking/train.py): one process, or several under torchrun.

  python tracking/train.py --script sutrack_dinov3 --config sutrack_dinov3 --save_dir . --mode single
  python tracking/train.py --config sutrack_dinov3 --save_dir . --mode multiple --nproc_per_node 8
  python tracking/train.py --config tiny --save_dir /tmp/run --opts TRAIN.EPOCH 2 DATA.TRAIN.SAMPLE_PER_EPOCH 64

Training resumes from the latest checkpoint of the config unless --no-resume is given. One run at a time trains a
config in a save_dir: a second one stops at once naming the first one's PID, command and start time (or waits
with --wait); the lock of a killed run is taken over.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from lib.train.run_training import add_run_arguments, parse_run_args, run

ROOT = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("single", "multiple"), default="single",
                        help="single: this process; multiple: torchrun with --nproc_per_node processes per node")
    parser.add_argument("--nproc_per_node", type=int, default=1, help="processes (GPUs) per node in multiple mode")
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node_rank", type=int, default=0)
    parser.add_argument("--master_addr", default="127.0.0.1")
    parser.add_argument("--master_port", type=int, default=None,
                        help="rendezvous port (default: a free one on a single node, 29500 across nodes)")
    parser.add_argument("--use_lmdb", type=int, choices=(0, 1), default=0, help="LMDB datasets: not supported")
    parser.add_argument("--distill", type=int, default=0, help=argparse.SUPPRESS)  # SUTrack's flag, unused
    add_run_arguments(parser)  # --script --config --save_dir --resume/--no-resume --seed --epochs ... --opts
    return parser


def forwarded_args(args: argparse.Namespace) -> list[str]:
    """The per-process arguments, as run_training.py expects them."""
    out = ["--script", args.script, "--config", args.config, "--resume" if args.resume else "--no-resume"]
    if args.wait:
        out.append("--wait")
    for flag in ("save_dir", "seed", "epochs", "samples_per_epoch", "device"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag}", str(value)]
    if args.opts:
        out += ["--opts", *args.opts]
    return out


def torchrun_command(args: argparse.Namespace) -> list[str]:
    """python -m torch.distributed.run ... lib/train/run_training.py <args>."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={args.nproc_per_node}",
           f"--nnodes={args.nnodes}", f"--node_rank={args.node_rank}"]
    if args.nnodes == 1 and args.master_port is None:
        cmd.append("--standalone")
    else:
        cmd += [f"--master_addr={args.master_addr}", f"--master_port={args.master_port or 29500}"]
    return cmd + [str(ROOT / "lib" / "train" / "run_training.py"), *forwarded_args(args)]


def _run_folder_free(args: argparse.Namespace) -> bool:
    """Before torchrun starts: is the run folder free (waiting for it with --wait)? Rank 0 then locks it for the
    run (lib.train.run_training.lock_run_folder); this early look spares starting the ranks of a busy run."""
    from lib.train.admin.multigpu import DistInfo
    from lib.train.run_training import lock_run_folder
    from lib.utils.run_lock import FolderBusyError

    try:
        lock_run_folder(args, DistInfo()).release()
    except FolderBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    except (FileNotFoundError, ValueError):
        pass  # a bad config: the ranks report it
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_run_args(parser, argv)
    if args.use_lmdb:
        parser.error("--use_lmdb 1: LMDB datasets are not supported by sutrack_dinov3; "
                     "train from the plain on-disk layouts (see tracking/create_default_local_file.py)")
    if args.save_dir is not None:
        args.save_dir = str(Path(args.save_dir).resolve())
    if args.mode == "single":
        if args.nproc_per_node != 1 or args.nnodes != 1:
            parser.error("--nproc_per_node/--nnodes need --mode multiple")
        return run(args)
    if args.nproc_per_node < 1 or args.nnodes < 1:
        parser.error("--nproc_per_node and --nnodes must be at least 1")
    if args.node_rank == 0 and not _run_folder_free(args):
        return 2
    cmd = torchrun_command(args)
    print("launching:", " ".join(cmd), flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
