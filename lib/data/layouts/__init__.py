"""On-disk layouts of the tracking datasets, one reader per layout, shared by training and evaluation.

base: the reading steps every layout uses and the `Layout` class; rgb: GOT-10k, LaSOT, VastTrack,
TrackingNet, TNL2K, plain folders; benchmarks: OTB, OTB99-lang, UAV123, NFS; rgbx: DepthTrack / VOT-RGBD,
LasHeR / RGBT234, VisEvent.
"""
from lib.data.layouts.base import (
    Layout,
    check_frames,
    load_flags,
    load_frames,
    load_ground_truth,
    parse_resolution,
    read_meta_info,
    split_folder,
    subdirs,
)
from lib.data.layouts.benchmarks import NfsLayout, Otb99LangLayout, OtbLayout, Uav123Layout
from lib.data.layouts.rgb import (
    CustomLayout,
    Got10kLayout,
    LasotLayout,
    Tnl2kLayout,
    TrackingNetLayout,
    VastTrackLayout,
)
from lib.data.layouts.rgbx import DepthTrackLayout, RgbtLayout, RgbxLayout, VisEventLayout

__all__ = [
    "CustomLayout",
    "DepthTrackLayout",
    "Got10kLayout",
    "LasotLayout",
    "Layout",
    "NfsLayout",
    "Otb99LangLayout",
    "OtbLayout",
    "RgbtLayout",
    "RgbxLayout",
    "Tnl2kLayout",
    "TrackingNetLayout",
    "Uav123Layout",
    "VastTrackLayout",
    "VisEventLayout",
    "check_frames",
    "load_ground_truth",
    "load_flags",
    "load_frames",
    "parse_resolution",
    "read_meta_info",
    "split_folder",
    "subdirs",
]
