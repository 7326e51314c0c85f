"""The cargo declaration that travels with a scan, and how it is checked against the true load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from scanlab.i18n import N_, _, format_decimal, ngettext

__all__ = [
    "COMMODITIES",
    "WEIGHT_TOLERANCE",
    "CargoDeclaration",
    "DeclaredGoods",
    "check_declaration",
]

#: Commodity key -> (HS code, description as a declaration would word it).
COMMODITIES: dict[str, tuple[str, str]] = {
    "tyres": ("4011", N_("New pneumatic tyres of rubber")),
    "cotton": ("5201", N_("Cotton, not carded or combed, in bales")),
    "textiles": ("6109", N_("T-shirts, singlets and other vests, knitted")),
    "cigarettes": ("2402", N_("Cigarettes containing tobacco")),
    "bottled_water": ("2201", N_("Mineral waters, bottled")),
    "wine": ("2204", N_("Wine of fresh grapes, in bottles")),
    "machinery": ("8479", N_("Machines having individual functions, n.e.s.")),
    "paper_goods": ("4819", N_("Cartons, boxes and cases of paper or paperboard")),
    "plastic_granules": ("3901", N_("Polymers of ethylene, in primary forms")),
    "rice": ("1006", N_("Rice, in bags")),
    "sawn_wood": ("4407", N_("Wood sawn lengthwise")),
    "furniture": ("9403", N_("Other furniture and parts thereof")),
    "ceramic_tiles": ("6907", N_("Ceramic flags and paving, hearth or wall tiles")),
    "steel_coils": ("7208", N_("Flat-rolled products of iron, in coils")),
    "cars": ("8703", N_("Motor cars and other motor vehicles")),
    "frozen_beef": ("0202", N_("Meat of bovine animals, frozen, boneless, in cartons")),
    "frozen_poultry": (
        "0207",
        N_("Meat of fowls of the species Gallus domesticus, frozen, in cartons"),
    ),
    "citrus": ("0805", N_("Citrus fruit, fresh (oranges), in cartons on pallets")),
    "coffee": ("0901", N_("Coffee, not roasted, not decaffeinated, in 60 kg jute bags")),
    "groundnuts": ("1202", N_("Ground-nuts, not roasted, shelled, in bags")),
    "sugar": ("1701", N_("Cane sugar, raw, in solid form, in bags")),
    "soybean_meal": (
        "2304",
        N_("Oil-cake from the extraction of soya-bean oil (soybean meal), in bags"),
    ),
}

#: Declared and true gross weight of goods may differ by this fraction before it is suspicious.
WEIGHT_TOLERANCE = 0.15


@dataclass
class DeclaredGoods:
    """One line of a declaration."""

    commodity: str
    hs_code: str
    description: str
    packages: int
    gross_kg: float


@dataclass
class CargoDeclaration:
    """What the shipper says is in the container, as an officer sees it beside the image."""

    container_id: str
    shipper: str
    consignee: str
    goods: list[DeclaredGoods] = field(default_factory=list)

    @property
    def declared_empty(self) -> bool:
        return not self.goods

    @property
    def gross_kg(self) -> float:
        return sum(g.gross_kg for g in self.goods)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CargoDeclaration:
        return cls(
            container_id=str(d["container_id"]),
            shipper=str(d["shipper"]),
            consignee=str(d["consignee"]),
            goods=[DeclaredGoods(**g) for g in d.get("goods", [])],
        )

    def as_text(self) -> str:
        """The declaration as the lines an officer reads."""
        lines = [
            _("Container {container}").format(container=self.container_id),
            _("Shipper:   {shipper}").format(shipper=self.shipper),
            _("Consignee: {consignee}").format(consignee=self.consignee),
        ]
        if self.declared_empty:
            lines.append(_("Declared: EMPTY"))
        for g in self.goods:
            # A goods line of the standard wording reads in the officer's language; a
            # description of the shipper's own stays as written.
            packages = ngettext("{count} package", "{count} packages", g.packages)
            lines.append(
                _("HS {code}  {description}: {packages}, {kg} kg").format(
                    code=g.hs_code,
                    description=_(g.description),
                    packages=packages.format(count=g.packages),
                    kg=format_decimal(g.gross_kg, 0),
                )
            )
        return "\n".join(lines)


def check_declaration(
    declaration: CargoDeclaration, true_load: list[dict[str, Any]]
) -> tuple[bool, list[str]]:
    """Compare a declaration with the true load: (consistent, reasons it is not).

    ``true_load`` lists ``{"commodity", "mass_kg", "packages", "concealed"}`` entries. Concealed
    goods are left out: the declaration is judged against the visible load (what, how much, or
    empty), and finding what is hidden is the job of the marks, graded separately.

    Examples
    --------
    >>> decl = CargoDeclaration("MSCU1234565", "S", "C",
    ...     [DeclaredGoods("tyres", "4011", "Tyres", 200, 2000.0)])
    >>> check_declaration(decl, [{"commodity": "tyres", "mass_kg": 2100.0, "packages": 200}])
    (True, [])
    >>> check_declaration(decl, [{"commodity": "cotton", "mass_kg": 2100.0, "packages": 20}])[1]
    ['declared tyres but the load is cotton']
    """
    reasons: list[str] = []
    visible = [t for t in true_load if not t.get("concealed")]
    declared = {g.commodity for g in declaration.goods}
    actual = {t["commodity"] for t in visible}
    if declaration.declared_empty and visible:
        reasons.append("declared empty but the container is loaded")
    elif not declaration.declared_empty:
        if not actual:
            reasons.append("declared goods but the container is empty")
        elif declared and not declared & actual:
            reasons.append(
                f"declared {', '.join(sorted(declared))} but the load is "
                f"{', '.join(sorted(actual))}"
            )
        else:
            for commodity in sorted(actual - declared):
                reasons.append(f"undeclared goods: {commodity}")
            true_kg = sum(t["mass_kg"] for t in visible)
            if true_kg > 0 and abs(declaration.gross_kg - true_kg) > WEIGHT_TOLERANCE * true_kg:
                reasons.append(
                    f"declared {declaration.gross_kg:,.0f} kg but the load weighs about "
                    f"{true_kg:,.0f} kg"
                )
    return (not reasons, reasons)
