"""Operator image tools for transmission X-ray scans: grey-level views, filters, corrections,
colour renderings and presets (pipelines) built from them.

Every function takes a 2-D (row, col) image first and keyword parameters, and returns the
input's dtype (uint8, uint16, float32 or float64) unless it renders colour. Presets are
:class:`Pipeline` objects, plain data saved as JSON or YAML.
"""

from scanlab.enhance._colour import PALETTES, density_highlight, pseudo_colour
from scanlab.enhance._correct import destripe, flat_field
from scanlab.enhance._export import enhance_file, to_uint8
from scanlab.enhance._filters import (
    denoise_bilateral,
    denoise_median,
    denoise_nl_means,
    edge_enhance,
    edge_outline,
    estimate_noise,
    unsharp_mask,
)
from scanlab.enhance._intensity import (
    adjust_gamma,
    clahe,
    equalize_hist,
    high_penetration,
    log_view,
    low_density,
    negative,
    window_level,
)
from scanlab.enhance._material import (
    MATERIAL_CLASSES,
    MaterialCurves,
    material_classes,
    material_colour,
    material_curves,
    metal_only,
    organic_only,
    ratio_image,
)
from scanlab.enhance._pipeline import STEPS, Pipeline, Step, list_presets, load_preset
from scanlab.enhance._tiled import apply_tiled, footprint_halo

__all__ = [
    "MATERIAL_CLASSES",
    "PALETTES",
    "STEPS",
    "MaterialCurves",
    "Pipeline",
    "Step",
    "adjust_gamma",
    "apply_tiled",
    "clahe",
    "denoise_bilateral",
    "denoise_median",
    "denoise_nl_means",
    "density_highlight",
    "destripe",
    "edge_enhance",
    "edge_outline",
    "enhance_file",
    "equalize_hist",
    "estimate_noise",
    "flat_field",
    "footprint_halo",
    "high_penetration",
    "list_presets",
    "load_preset",
    "log_view",
    "low_density",
    "material_classes",
    "material_colour",
    "material_curves",
    "metal_only",
    "negative",
    "organic_only",
    "pseudo_colour",
    "ratio_image",
    "to_uint8",
    "unsharp_mask",
    "window_level",
]
