"""Materials (density + elemental composition) and the library of cargo materials."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from scanlab.errors import SpecError
from scanlab.physics._elements import (
    UnknownMaterialError,
    atomic_number,
    atomic_weight,
    element_symbol,
    mass_fractions,
)
from scanlab.physics._nist import mass_attenuation, mass_energy_absorption

__all__ = ["Material", "get_material", "material_names", "mixture"]


@dataclass(frozen=True)
class Material:
    """A homogeneous material: name, density and elemental composition by mass.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"steel"``.
    density_g_cm3 : float
        Bulk density in g/cm³ (for granular or packed goods, the density as packed).
    composition : mapping of str or int to float
        Element (symbol or Z) -> mass fraction. Fractions must sum to 1 within 1 %; they
        are renormalised to sum to exactly 1 and stored under element symbols.

    Examples
    --------
    >>> water = Material("water", 1.0, {"H": 0.111894, "O": 0.888106})
    >>> round(float(water.mu(1.0)), 5)  # 1/cm at 1 MeV
    0.07072
    >>> Material.from_formula("water", "H2O", density_g_cm3=1.0).composition["H"] > 0.11
    True
    """

    name: str
    density_g_cm3: float
    composition: Mapping[str, float] = field(hash=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.density_g_cm3) and self.density_g_cm3 > 0):
            raise SpecError(
                f"material {self.name!r}: density_g_cm3 must be positive, "
                f"got {self.density_g_cm3!r}"
            )
        fractions: dict[str, float] = {}
        for element, fraction in dict(self.composition).items():
            symbol = element_symbol(element)
            if not (math.isfinite(fraction) and fraction >= 0):
                raise SpecError(
                    f"material {self.name!r}: mass fraction of {symbol} must be >= 0, "
                    f"got {fraction!r}"
                )
            fractions[symbol] = fractions.get(symbol, 0.0) + float(fraction)
        total = sum(fractions.values())
        if not fractions or abs(total - 1.0) > 0.01:
            raise SpecError(
                f"material {self.name!r}: mass fractions must sum to 1, got {total:.4f}"
            )
        normalised = {symbol: value / total for symbol, value in fractions.items() if value > 0}
        object.__setattr__(self, "density_g_cm3", float(self.density_g_cm3))
        object.__setattr__(self, "composition", MappingProxyType(normalised))

    def __reduce__(self) -> tuple[type[Material], tuple[str, float, dict[str, float]]]:
        # A mappingproxy does not pickle; worker processes need materials.
        return (Material, (self.name, self.density_g_cm3, dict(self.composition)))

    @classmethod
    def from_formula(cls, name: str, formula: str, *, density_g_cm3: float) -> Material:
        """A material of one chemical compound, e.g. ``"C17H22ClNO4"``."""
        return cls(name, density_g_cm3, mass_fractions(formula))

    def mu_rho(self, energy_mev: npt.ArrayLike) -> np.ndarray:
        """Mass attenuation coefficient mu/rho (cm²/g) at ``energy_mev`` (NIST, log-log)."""
        return mass_attenuation(self.composition, energy_mev)

    def mu(self, energy_mev: npt.ArrayLike) -> np.ndarray:
        """Linear attenuation coefficient mu (1/cm) at ``energy_mev``."""
        return self.density_g_cm3 * self.mu_rho(energy_mev)

    def mu_en_rho(self, energy_mev: npt.ArrayLike) -> np.ndarray:
        """Mass energy-absorption coefficient mu_en/rho (cm²/g) at ``energy_mev``."""
        return mass_energy_absorption(self.composition, energy_mev)

    @property
    def z_eff(self) -> float:
        """Effective atomic number, power-law (Mayneord, exponent 2.94) over electron fractions.

        This is the conventional label of material classes (organic ~6-7, inorganic ~10-13,
        iron 26); at MeV energies what separates them is pair production (~Z²) versus Compton
        scattering (~Z), so treat it as a label, not as the quantity a scanner measures.
        """
        electrons = {
            s: f * atomic_number(s) / atomic_weight(s) for s, f in self.composition.items()
        }
        total = sum(electrons.values())
        power = sum(e / total * atomic_number(s) ** 2.94 for s, e in electrons.items())
        return float(power ** (1 / 2.94))


def mixture(
    name: str,
    components: Mapping[Material | str, float],
    *,
    density_g_cm3: float | None = None,
) -> Material:
    """A homogeneous mixture of materials by mass fraction.

    Parameters
    ----------
    name : str
        Name of the new material.
    components : mapping of Material or str to float
        Material (or library name) -> mass fraction; fractions must sum to 1 within 1 %.
    density_g_cm3 : float, optional
        Bulk density. By default the components' volumes add (no voids):
        ``1 / sum(w_i / rho_i)``.

    Examples
    --------
    >>> belted = mixture("belted_rubber", {"rubber": 0.8, "steel": 0.2})
    >>> round(belted.density_g_cm3, 3), round(belted.composition["Fe"], 3)
    (1.117, 0.198)
    """
    parts = [
        (get_material(m) if isinstance(m, str) else m, float(w)) for m, w in components.items()
    ]
    total = sum(w for _, w in parts)
    if not parts or abs(total - 1.0) > 0.01 or any(w < 0 for _, w in parts):
        raise SpecError(f"mixture {name!r}: mass fractions must be >= 0 and sum to 1")
    composition: dict[str, float] = {}
    for material, weight in parts:
        for symbol, fraction in material.composition.items():
            composition[symbol] = composition.get(symbol, 0.0) + weight / total * fraction
    if density_g_cm3 is None:
        density_g_cm3 = 1.0 / sum(w / total / m.density_g_cm3 for m, w in parts)
    return Material(name, density_g_cm3, composition)


def _formula(name: str, formula: str, density: float) -> Material:
    return Material.from_formula(name, formula, density_g_cm3=density)


def _by_mass(name: str, density: float, parts: Mapping[str, float]) -> Material:
    """A material from formula (or element) -> mass fraction."""
    composition: dict[str, float] = {}
    for formula, weight in parts.items():
        for symbol, fraction in mass_fractions(formula).items():
            composition[symbol] = composition.get(symbol, 0.0) + weight * fraction
    return Material(name, density, composition)


_CELLULOSE = "C6H10O5"
_PET = "C10H8O4"
# Food constituents by formula: starch and fibre as cellulose, sugars as sucrose or glucose,
# protein as its mean amino-acid residue (Glu/Ala/Leu mix, 16 % N as in the Kjeldahl factor
# 6.25), fats as triolein, and ash as the potassium phosphate and carbonates plant and
# animal tissue leaves (K, P, Mg, Ca).
_SUCROSE = "C12H22O11"
_GLUCOSE = "C6H12O6"
_PROTEIN = "C5H8.2N1.4O1.6S0.04"
_FAT = "C57H104O6"
_ASH = {"K2HPO4": 0.6, "MgCO3": 0.2, "CaCO3": 0.2}


def _food(name: str, density: float, parts: Mapping[str, float]) -> Material:
    """A foodstuff from its proximate analysis (water, protein, fat, carbohydrate, ash)."""
    expanded: dict[str, float] = {}
    for formula, weight in parts.items():
        for sub, share in (_ASH if formula == "ash" else {formula: 1.0}).items():
            expanded[sub] = expanded.get(sub, 0.0) + weight * share
    return _by_mass(name, density, expanded)


def _build_library() -> dict[str, Material]:
    # Compositions: NIST/ICRU-44 where NIST tabulates the material (air, water, tissue,
    # bone, glass, concrete: "Compendium of Material Composition Data for Radiation
    # Transport Modeling", PNNL-15870 Rev. 1), stoichiometry for pure compounds, and typical
    # literature values (rounded) for natural products. Densities are bulk densities as
    # the goods are packed in cargo.
    m: list[Material] = [
        # Structural metals and the vehicle.
        Material("iron", 7.874, {"Fe": 1.0}),
        Material("steel", 7.85, {"Fe": 0.9875, "Mn": 0.008, "Si": 0.0025, "C": 0.002}),
        Material(
            "stainless_steel", 8.0, {"Fe": 0.695, "Cr": 0.19, "Ni": 0.095, "Mn": 0.02}
        ),  # AISI 304
        Material("cast_iron", 7.2, {"Fe": 0.94, "C": 0.035, "Si": 0.025}),  # grey iron block
        Material("aluminium", 2.699, {"Al": 1.0}),
        Material("copper", 8.96, {"Cu": 1.0}),
        # Rigid polyurethane foam insulating reefer walls, roof, floor and doors (35-45 kg/m³;
        # composition of a polyether MDI foam, rounded).
        Material("polyurethane_foam", 0.042, {"C": 0.62, "H": 0.07, "N": 0.06, "O": 0.25}),
        # Dense metals (shielding, smuggled nuclear material).
        Material("lead", 11.35, {"Pb": 1.0}),
        Material("tungsten", 19.3, {"W": 1.0}),
        Material("uranium", 18.95, {"U": 1.0}),
        # Everyday and construction materials.
        Material(
            "air",
            0.001205,
            {"C": 0.000124, "N": 0.755268, "O": 0.231781, "Ar": 0.012827},
        ),
        _formula("water", "H2O", 1.0),
        _formula("polyethylene", "C2H4", 0.94),
        _formula("rubber", "C5H8", 0.92),  # natural rubber, cis-polyisoprene
        _formula("diesel", "C12H23", 0.84),  # mean diesel molecule
        Material("wood", 0.55, {"C": 0.495, "H": 0.06, "O": 0.44, "N": 0.005}),  # dry softwood
        Material("plywood", 0.6, {"C": 0.49, "H": 0.06, "O": 0.44, "N": 0.01}),  # + resin
        _by_mass("cardboard", 0.15, {_CELLULOSE: 0.95, "CaCO3": 0.05}),  # corrugated, bulk
        _by_mass("paper", 0.8, {_CELLULOSE: 0.85, "CaCO3": 0.15}),  # filled office paper
        _formula("banknote_paper", _CELLULOSE, 0.88),  # cotton rag notes stacked in bundles
        _formula("cotton", _CELLULOSE, 0.45),  # pressed bale
        _by_mass("textiles", 0.3, {_CELLULOSE: 0.6, _PET: 0.4}),  # packed garments
        Material(
            "glass",
            2.40,
            {"O": 0.4598, "Na": 0.096441, "Si": 0.336553, "Ca": 0.107205},
        ),  # soda-lime plate glass (NIST)
        Material(
            "concrete",
            2.30,
            {
                "H": 0.01,
                "C": 0.001,
                "O": 0.529107,
                "Na": 0.016,
                "Mg": 0.002,
                "Al": 0.033872,
                "Si": 0.337021,
                "K": 0.013,
                "Ca": 0.044,
                "Fe": 0.014,
            },
        ),  # ordinary concrete (NIST)
        # People (stowaways) and their organs.
        Material(
            "soft_tissue",
            1.06,
            {
                "H": 0.102,
                "C": 0.143,
                "N": 0.034,
                "O": 0.708,
                "Na": 0.002,
                "P": 0.003,
                "S": 0.003,
                "Cl": 0.002,
                "K": 0.003,
            },
        ),  # ICRU-44
        Material(
            "bone",
            1.92,
            {
                "H": 0.034,
                "C": 0.155,
                "N": 0.042,
                "O": 0.435,
                "Na": 0.001,
                "Mg": 0.002,
                "P": 0.103,
                "S": 0.003,
                "Ca": 0.225,
            },
        ),  # cortical bone, ICRU-44
        # Contraband.
        Material(
            "tobacco",
            0.3,  # cigarettes in cartons and master cases
            {
                "C": 0.41,
                "H": 0.06,
                "O": 0.40,
                "N": 0.03,
                "K": 0.035,
                "Ca": 0.035,
                "Mg": 0.006,
                "Cl": 0.009,
                "P": 0.003,
                "S": 0.005,
                "Si": 0.007,
            },
        ),  # cured leaf, ~15 % ash
        Material(
            "cannabis",
            0.6,  # pressed bricks
            {
                "C": 0.44,
                "H": 0.06,
                "O": 0.41,
                "N": 0.03,
                "K": 0.025,
                "Ca": 0.02,
                "Mg": 0.005,
                "P": 0.005,
                "S": 0.003,
                "Si": 0.002,
            },
        ),
        # Foodstuffs of the bulk trades. The density is that of the goods as they lie inside
        # one package: bulk density for granular goods (sugar, meal, beans, kernels), the
        # solid for frozen meat and fruit (a carton's fill fraction says how much of it is
        # goods). Proximate compositions: USDA FoodData Central (rounded).
        _by_mass("sugar", 0.85, {_SUCROSE: 0.999, "H2O": 0.001}),  # granulated, bulk
        _food(
            "frozen_meat", 0.98, {"H2O": 0.72, _PROTEIN: 0.2, _FAT: 0.07, "ash": 0.01}
        ),  # lean beef or chicken frozen in blocks (ice: 0.92 g/cm3, tissue 1.06)
        _food(
            "fruit", 0.9, {"H2O": 0.87, _GLUCOSE: 0.1, _CELLULOSE: 0.025, "ash": 0.005}
        ),  # oranges, lemons: whole fruit with peel and its air cells
        _food(
            "coffee_beans",
            0.66,
            {"H2O": 0.11, _CELLULOSE: 0.5, _SUCROSE: 0.08, _PROTEIN: 0.12, _FAT: 0.14, "ash": 0.05},
        ),  # green coffee, bulk
        _food(
            "groundnut_kernels",
            0.62,
            {"H2O": 0.06, _PROTEIN: 0.26, _FAT: 0.48, _CELLULOSE: 0.17, "ash": 0.03},
        ),  # shelled peanuts, bulk
        _food(
            "soybean_meal",
            0.6,
            {"H2O": 0.12, _PROTEIN: 0.48, _FAT: 0.02, _CELLULOSE: 0.31, "ash": 0.07},
        ),  # solvent-extracted, 48 % protein, bulk
        _by_mass("polypropylene", 0.9, {"C3H6": 1.0}),  # woven bags, stretch film
        _formula("cocaine_hydrochloride", "C17H22ClNO4", 1.0),  # pressed 1 kg bricks
        _formula("heroin", "C21H23NO5", 0.9),  # diacetylmorphine base, pressed blocks
        # Scintillators of the detector arrays.
        _formula("cadmium_tungstate", "CdWO4", 7.9),
        _formula("cesium_iodide", "CsI", 4.51),
    ]
    library = {material.name: material for material in m}
    library["tyre"] = mixture(
        "tyre",
        {
            # Truck tyre: ~75 % rubber compound (polyisoprene/SBR, carbon black, silica,
            # ZnO, sulphur, oils) and ~25 % steel belts and bead wire by mass.
            _by_mass(
                "tyre_rubber",
                1.15,
                {"C5H8": 0.5, "C": 0.3, "SiO2": 0.1, "ZnO": 0.025, "S": 0.015, "CH2": 0.06},
            ): 0.75,
            library["steel"]: 0.25,
        },
    )
    return library


@functools.cache
def _library() -> dict[str, Material]:
    return _build_library()


_ALIASES = {
    "aluminum": "aluminium",
    "cdwo4": "cadmium_tungstate",
    "csi": "cesium_iodide",
    "tire": "tyre",
    "engine_block": "cast_iron",
    "pe": "polyethylene",
}


def material_names() -> tuple[str, ...]:
    """Names of the materials in the library, sorted.

    Examples
    --------
    >>> "steel" in material_names()
    True
    """
    return tuple(sorted(_library()))


def get_material(name: str) -> Material:
    """The library material called ``name`` (case- and separator-insensitive).

    Raises
    ------
    UnknownMaterialError
        If there is no such material; the message lists the valid names.

    Examples
    --------
    >>> steel = get_material("steel")
    >>> steel.density_g_cm3, round(steel.composition["Fe"], 4)
    (7.85, 0.9875)
    >>> round(get_material("Cocaine hydrochloride").z_eff, 1)
    8.8
    """
    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    key = _ALIASES.get(key, key)
    library = _library()
    if key not in library:
        raise UnknownMaterialError(
            f"unknown material {name!r}; valid names: {', '.join(sorted(library))}"
        )
    return library[key]
