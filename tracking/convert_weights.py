"""Turn any DINOv3 ConvNeXt weights source into a standard HF folder (config.json + model.safetensors).

    python tracking/convert_weights.py timm:convnext_tiny.dinov3_lvd1689m weights/dinov3_convnext_tiny
    python tracking/convert_weights.py dinov3_convnext_tiny_pretrain_lvd1689m-21b726bb.pth weights/tiny \\
        --type dinov3_convnext_tiny
    python tracking/convert_weights.py facebook/dinov3-convnext-tiny-pretrain-lvd1689m weights/tiny

SRC is anything MODEL.ENCODER.PRETRAIN_TYPE accepts: a hub id, an HF folder, `timm:<name>`, or a
`.safetensors` / `.pth` / `.pt` checkpoint with timm's, Meta's (facebookresearch/dinov3) or HF's key names.
Then set MODEL.ENCODER.PRETRAIN_TYPE to OUT_DIR: an offline machine needs only that folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.models.sutrack_dinov3.weights import (
    CONVNEXT_ARCHS,
    WeightsUnavailableError,
    load_convnext_with_report,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", help="hub id, HF folder, timm:<name>, or a .safetensors/.pth/.pt checkpoint")
    parser.add_argument("out_dir", help="folder to write config.json and model.safetensors to")
    parser.add_argument("--type", choices=sorted(CONVNEXT_ARCHS), default=None,
                        help="check that SRC holds this MODEL.ENCODER.TYPE (default: accept any size)")
    return parser.parse_args(argv)


def convert(src: str, out_dir: str, encoder_type: str | None = None) -> Path:
    """Load `src` through the tracker's own loader and save it as an HF folder; print what was found."""
    arch = CONVNEXT_ARCHS[encoder_type] if encoder_type else None
    model, found = load_convnext_with_report(src, arch, {})
    config = model.config
    params = sum(p.numel() for p in model.parameters())
    print(f"source: {src}")
    if found is not None:
        print(f"found:  {found.summary()}")
        if found.dropped:
            print(f"        dropped on purpose (heads, duplicates, other modules): {', '.join(found.dropped[:5])}"
                  + (" ..." if len(found.dropped) > 5 else ""))
    else:
        print("found:  layout hf (from_pretrained)")
    print(f"model:  widths {list(config.hidden_sizes)}, depths {list(config.depths)}, "
          f"{params / 1e6:.2f} M params")
    out = Path(out_dir)
    model.save_pretrained(out)
    print(f"wrote:  {out}/ ({', '.join(sorted(p.name for p in out.iterdir()))})")
    print(f"use:    MODEL.ENCODER.PRETRAIN_TYPE: {out.resolve()}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; a weights problem prints its explanation and exits with status 1."""
    args = parse_args(argv)
    try:
        convert(args.src, args.out_dir, args.type)
    except WeightsUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
