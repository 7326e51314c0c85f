"""The scan simulator: vehicles, cargo and concealments, with exact answer keys and declarations.

>>> from scanlab.synth import SceneSpec, generate_scene   # doctest: +SKIP
"""

from scanlab.synth._answer_key import (
    CONCEALMENT_METHODS,
    DIFFICULTY_LEVELS,
    THREAT_CLASSES,
    AnswerKey,
    Difficulty,
    KeyObject,
)
from scanlab.synth._cargo import CARGO_TYPES
from scanlab.synth._concealments import CONCEALMENT_TYPES
from scanlab.synth._dataset import (
    DatasetSpec,
    build_dataset,
    dataset_names,
    load_dataset_spec,
    load_manifest,
)
from scanlab.synth._declaration import (
    COMMODITIES,
    CargoDeclaration,
    DeclaredGoods,
    check_declaration,
)
from scanlab.synth._display import (
    VENDOR_PIPELINES,
    DisplayCurve,
    Export,
    VendorPipeline,
    display_to_attenuation,
    random_pipeline,
    render_display,
    render_export,
)
from scanlab.synth._hosts import (
    CargoRegion,
    Host,
    HostDisplay,
    HostItem,
    HostPool,
    HostSpec,
    ProjectionQuality,
    analyse_host,
    estimate_blur,
    estimate_display_curve,
    estimate_sharpening,
    find_cargo_region,
    grain_by_level,
    host_files,
    load_host,
    make_host_item,
    projection_quality,
    read_declarations,
    write_simulated_hosts,
)
from scanlab.synth._n4246 import RealismFigures, realism_figures
from scanlab.synth._realism import REAL_GOODS, export_statistics, real_export_statistics
from scanlab.synth._reference import (
    REFERENCE_KINDS,
    Reference,
    commodity_of,
    declared_commodities,
    reference_image,
    reference_names,
)
from scanlab.synth._scene import (
    DECLARATION_MODES,
    Scene,
    SceneSpec,
    generate_scene,
    measure_difficulty,
)
from scanlab.synth._tip import THREAT_LIBRARY, Threat, cut_threat, project_threat, render_threat
from scanlab.synth._vehicles import VEHICLE_TYPES
from scanlab.synth._version import simulator_version

__all__ = [
    "CARGO_TYPES",
    "COMMODITIES",
    "CONCEALMENT_METHODS",
    "CONCEALMENT_TYPES",
    "DECLARATION_MODES",
    "DIFFICULTY_LEVELS",
    "REAL_GOODS",
    "REFERENCE_KINDS",
    "THREAT_CLASSES",
    "THREAT_LIBRARY",
    "VEHICLE_TYPES",
    "VENDOR_PIPELINES",
    "AnswerKey",
    "CargoDeclaration",
    "CargoRegion",
    "DatasetSpec",
    "DeclaredGoods",
    "Difficulty",
    "DisplayCurve",
    "Export",
    "Host",
    "HostDisplay",
    "HostItem",
    "HostPool",
    "HostSpec",
    "KeyObject",
    "ProjectionQuality",
    "RealismFigures",
    "Reference",
    "Scene",
    "SceneSpec",
    "Threat",
    "VendorPipeline",
    "analyse_host",
    "build_dataset",
    "check_declaration",
    "commodity_of",
    "cut_threat",
    "dataset_names",
    "declared_commodities",
    "display_to_attenuation",
    "estimate_blur",
    "estimate_display_curve",
    "estimate_sharpening",
    "export_statistics",
    "find_cargo_region",
    "generate_scene",
    "grain_by_level",
    "host_files",
    "load_dataset_spec",
    "load_host",
    "load_manifest",
    "make_host_item",
    "measure_difficulty",
    "project_threat",
    "projection_quality",
    "random_pipeline",
    "read_declarations",
    "real_export_statistics",
    "realism_figures",
    "reference_image",
    "reference_names",
    "render_display",
    "render_export",
    "render_threat",
    "simulator_version",
    "write_simulated_hosts",
]
