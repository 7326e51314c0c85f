"""X-ray physics of MeV cargo scanners: attenuation data, spectra, transmission, acquisition.

Data: NIST SRD 126 mass attenuation coefficients of the elements (Z = 1..92, 1 keV-20 MeV),
shipped in ``scanlab/physics/data``. Units are in the names: ``energy_mev``,
``thickness_cm``, ``density_g_cm3``, areal densities ``_g_cm2``.

The simulator's path from a scene to counts::

    lookup = basis_lookup(scanner)                    # once per scanner (~0.2 s)
    maps = thickness * density * lookup.decompose(material)[:, None, None]  # summed per ray
    counts = acquire(lookup.transmission(maps), scanner, rng=rng).counts
"""

from scanlab.physics._dual import REFERENCE_MATERIALS, RatioCurve, ratio_curve
from scanlab.physics._elements import (
    UnknownMaterialError,
    atomic_number,
    atomic_weight,
    element_symbol,
    mass_fractions,
)
from scanlab.physics._lookup import BASIS_MATERIALS, BasisLookup, build_basis_lookup
from scanlab.physics._materials import Material, get_material, material_names, mixture
from scanlab.physics._nist import mass_attenuation, mass_energy_absorption
from scanlab.physics._scanner import (
    Acquisition,
    ScannerModel,
    acquire,
    aperture_mean,
    basis_lookup,
    get_scanner,
    scanner_names,
)
from scanlab.physics._spectra import Detector, Spectrum, linac_spectrum, photons_per_pixel
from scanlab.physics._transmission import polyenergetic_transmission

__all__ = [
    "BASIS_MATERIALS",
    "REFERENCE_MATERIALS",
    "Acquisition",
    "BasisLookup",
    "Detector",
    "Material",
    "RatioCurve",
    "ScannerModel",
    "Spectrum",
    "UnknownMaterialError",
    "acquire",
    "aperture_mean",
    "atomic_number",
    "atomic_weight",
    "basis_lookup",
    "build_basis_lookup",
    "element_symbol",
    "get_material",
    "get_scanner",
    "linac_spectrum",
    "mass_attenuation",
    "mass_energy_absorption",
    "mass_fractions",
    "material_names",
    "mixture",
    "photons_per_pixel",
    "polyenergetic_transmission",
    "ratio_curve",
    "scanner_names",
]
