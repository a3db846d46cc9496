"""The demo data set: generated firms and observations, plus the paper's real figures.

Everything here is deterministic. Firms and their traits come from a generator seeded
with ``SEED``; each indicator's values in a month from one seeded with ``(SEED, year,
month, indicator)``, so
``generate_period(p)`` returns exactly the rows a full ``generate_history()`` holds
for ``p``, and the live demo feed can extend the history one month at a time.

Values are trend x (1 - shock effects) x noise for amounts (revenue, exports) and
baseline + shock effects + noise for rates (shares, days). The shocks are the ones the
paper names: the 2018-2019 trade friction (trade, technology), the 2020 pandemic
(economic, trade), export-control waves in 2019 and 2023 (political), the autumn 2021
energy-use curbs (双控, environmental), the 2021 chip shortage, a few single-firm
crises, and two regional shocks still under way at ``DEMO_LAST_PERIOD`` (Weifang's
power-equipment cluster falling, Dongying's petrochemical industry recovering).

The paper's Table 1 (firm entries of the three national clusters, 2017-2022), Table 3
(export complexity of five provinces, 2017-2022) and its 2022 industrial-structure
similarity (ISI) values are emitted as they are, with ``synthetic`` false.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from monitor.periods import format_period, next_period
from monitor.vocabulary import Frequency

__all__ = [
    "DEMO_FIRST_PERIOD",
    "DEMO_LAST_PERIOD",
    "FIRM_COUNT",
    "SEED",
    "Firm",
    "build_firms",
    "firm_records",
    "generate_history",
    "generate_period",
]

SEED = 20250310
DEMO_FIRST_PERIOD = date(2017, 1, 1)
DEMO_LAST_PERIOD = date(2026, 9, 1)
FIRM_COUNT = 2000
COLUMNS = ("indicator", "entity", "period", "value", "synthetic")

# Shock shapes: (month, intensity) key frames, linear in between and 0 outside.
EPISODES: dict[str, tuple[tuple[str, float], ...]] = {
    "trade_war": (
        ("2018-03", 0.0), ("2018-07", 0.3), ("2018-10", 0.5), ("2019-04", 0.55),
        ("2019-08", 1.0), ("2019-12", 0.9), ("2020-03", 0.6), ("2020-09", 0.3),
        ("2021-06", 0.0),
    ),
    "pandemic": (
        ("2019-12", 0.0), ("2020-01", 0.1), ("2020-02", 0.9), ("2020-03", 1.0),
        ("2020-04", 0.85), ("2020-05", 0.55), ("2020-06", 0.35), ("2020-07", 0.25),
        ("2020-09", 0.15), ("2020-12", 0.08), ("2021-06", 0.03), ("2021-12", 0.0),
    ),
    "controls_2019": (
        ("2019-02", 0.0), ("2019-05", 0.8), ("2019-08", 1.0), ("2019-11", 0.6),
        ("2020-03", 0.2), ("2020-09", 0.0),
    ),
    "controls_2023": (
        ("2022-09", 0.0), ("2022-12", 0.2), ("2023-03", 0.8), ("2023-06", 1.0),
        ("2023-08", 0.5), ("2023-11", 0.1), ("2024-03", 0.0),
    ),
    "dual_control": (
        ("2021-07", 0.0), ("2021-09", 1.0), ("2021-10", 0.9), ("2021-11", 0.5),
        ("2021-12", 0.1), ("2022-01", 0.0),
    ),
    "chip_shortage": (
        ("2020-11", 0.0), ("2021-02", 0.4), ("2021-05", 0.8), ("2021-08", 1.0),
        ("2021-11", 0.8), ("2022-04", 0.4), ("2022-10", 0.0),
    ),
    "cost_squeeze": (
        ("2022-01", 0.0), ("2022-04", 0.8), ("2022-07", 1.0), ("2022-10", 1.0),
        ("2023-02", 0.5), ("2023-07", 0.0),
    ),
    "weifang_2026": (
        ("2026-04", 0.0), ("2026-06", 0.35), ("2026-08", 0.75), ("2026-09", 0.9),
        ("2026-11", 1.0), ("2027-01", 0.9), ("2027-06", 0.5), ("2027-12", 0.15),
        ("2028-06", 0.0),
    ),
    "dongying_2025": (
        ("2025-09", 0.0), ("2025-11", 0.6), ("2026-01", 1.0), ("2026-03", 1.0),
        ("2026-05", 0.7), ("2026-07", 0.45), ("2026-09", 0.25), ("2026-12", 0.05),
        ("2027-03", 0.0),
    ),
}  # fmt: skip
# A single firm's crisis, by months since it began: collapse, then a slow partial mend.
CRISIS_SHAPE = ((-1, 0.0), (0, 0.5), (1, 0.9), (2, 1.0), (10, 1.0), (18, 0.6), (30, 0.35))
CRISIS_STARTS = ("2018-11", "2019-09", "2021-03", "2022-10", "2024-05", "2026-06")

# The paper's real figures.
TABLE1_ENTRIES = {  # new firms entering each cluster, 2017-2022
    "CL-QD-SHA": (301, 316, 318, 325, 369, 391),
    "CL-QD-RTE": (150, 155, 164, 168, 191, 189),
    "CL-WF-PE": (900, 853, 840, 737, 955, 1020),
}
TABLE3_EXPORT_COMPLEXITY = {  # advanced-manufacturing export complexity, 2017-2022
    "SD": (22042, 23415, 24495, 23950, 24706, 27110),
    "JS": (37485, 40133, 41988, 42932, 46337, 49023),
    "ZJ": (21160, 22464, 23850, 25182, 28522, 29628),
    "FJ": (18660, 19443, 19837, 21111, 23629, 25535),
    "GD": (34421, 28760, 39447, 40114, 43603, 43550),
}
REAL_YEARS = tuple(range(2017, 2023))
ISI_2022 = {  # industrial structure similarity by category, 2022 (section 2.2)
    "CAT-BFU": 507.6, "CAT-STL": 122.9, "CAT-HPF": 116.9, "CAT-NEV": 37.9,
    "CAT-INM": 35.0, "CAT-PCM": 34.2, "CAT-BIO": 25.3, "CAT-FNM": 23.4,
    "CAT-EEP": 16.4, "CAT-NEQ": 14.3, "CAT-HEQ": 11.6, "CAT-NFM": 9.6, "CAT-ITE": 1.5,
}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """How exposed one region or industry is: size, trend and shock sensitivities."""

    code: str
    size: float
    growth: float
    trade: float
    tech: float
    heavy: float
    control: float
    chips: float = 0.0


# Cities: size is a relative weight; exposures run from 0 (none) to 1 (the most).
CITIES = (
    Profile("SD-JN", 12, 0.065, 0.4, 0.9, 0.3, 0.8, 0.3),
    Profile("SD-QD", 16, 0.070, 1.0, 0.8, 0.2, 1.0, 0.6),
    Profile("SD-ZB", 8, 0.045, 0.4, 0.3, 0.9, 0.3),
    Profile("SD-ZZ", 3, 0.040, 0.2, 0.2, 0.8, 0.1),
    Profile("SD-DY", 6, 0.040, 0.5, 0.2, 1.0, 0.2),
    Profile("SD-YT", 10, 0.065, 0.8, 0.6, 0.5, 0.7, 0.4),
    Profile("SD-WF", 10, 0.060, 0.7, 0.5, 0.4, 0.6, 0.3),
    Profile("SD-JNG", 6, 0.050, 0.3, 0.3, 0.7, 0.2),
    Profile("SD-TA", 4, 0.050, 0.3, 0.3, 0.6, 0.2),
    Profile("SD-WH", 5, 0.055, 0.9, 0.4, 0.2, 0.4, 0.3),
    Profile("SD-RZ", 3, 0.045, 0.5, 0.2, 1.0, 0.1),
    Profile("SD-LY", 6, 0.055, 0.5, 0.2, 0.7, 0.2),
    Profile("SD-DZ", 4, 0.050, 0.3, 0.2, 0.6, 0.2),
    Profile("SD-LC", 3, 0.040, 0.3, 0.1, 0.9, 0.1),
    Profile("SD-BZ", 4, 0.045, 0.5, 0.2, 1.0, 0.2),
    Profile("SD-HZ", 3, 0.055, 0.2, 0.1, 0.6, 0.1),
)
# Industry entities: size is monthly revenue in 亿元.
INDUSTRIES = (
    Profile("CL-QD-SHA", 120, 0.06, 0.9, 0.5, 0.1, 0.4, 0.7),
    Profile("CL-QD-RTE", 60, 0.05, 0.4, 0.7, 0.1, 0.8, 0.4),
    Profile("CL-WF-PE", 150, 0.05, 0.5, 0.5, 0.3, 0.4, 0.3),
    Profile("CAT-ITE", 90, 0.08, 0.8, 1.0, 0.1, 1.0, 0.8),
    Profile("CAT-HEQ", 160, 0.06, 0.6, 0.8, 0.3, 0.7, 0.4),
    Profile("CAT-NEQ", 70, 0.12, 0.7, 0.4, 0.2, 0.3, 0.3),
    Profile("CAT-NEV", 80, 0.15, 0.4, 0.9, 0.2, 0.3, 1.0),
    Profile("CAT-PCM", 180, 0.04, 0.3, 0.2, 1.0, 0.2),
    Profile("CAT-STL", 140, 0.03, 0.3, 0.1, 1.0, 0.1),
    Profile("CAT-NFM", 100, 0.04, 0.4, 0.2, 0.9, 0.3),
    Profile("CAT-INM", 70, 0.04, 0.2, 0.1, 0.9, 0.1),
    Profile("CAT-HPF", 30, 0.08, 0.4, 0.5, 0.5, 0.5, 0.2),
    Profile("CAT-FNM", 25, 0.10, 0.3, 0.7, 0.3, 0.6, 0.3),
    Profile("CAT-BIO", 50, 0.08, 0.3, 0.4, 0.3, 0.3),
    Profile("CAT-BFU", 15, 0.05, 0.2, 0.1, 0.6, 0.1),
    Profile("CAT-EEP", 60, 0.07, 0.3, 0.3, 0.4, 0.2),
)
# Who the two shocks still under way at the end of the history hit, and how hard.
LATE_SHOCKS = {
    "weifang_2026": {"SD-WF": 1.0, "SD": 0.1, "CL-WF-PE": 1.0, "CAT-HEQ": 0.15},
    "dongying_2025": {"SD-DY": 1.0, "SD": 0.08, "CAT-PCM": 1.0},
}
# Firms per industry entity (2,000 in all), roughly as the sectors weigh in Shandong.
FIRMS_PER_INDUSTRY = {
    "CL-QD-SHA": 180, "CL-QD-RTE": 110, "CL-WF-PE": 240, "CAT-HEQ": 260, "CAT-ITE": 150,
    "CAT-NEV": 140, "CAT-NEQ": 110, "CAT-PCM": 170, "CAT-STL": 90, "CAT-NFM": 80,
    "CAT-INM": 80, "CAT-HPF": 60, "CAT-FNM": 60, "CAT-BIO": 100, "CAT-BFU": 40,
    "CAT-EEP": 130,
}  # fmt: skip
CLUSTER_CITY = {"CL-QD-SHA": "SD-QD", "CL-QD-RTE": "SD-QD", "CL-WF-PE": "SD-WF"}
# Cities where a category is concentrated (weight x 4 when placing its firms).
CATEGORY_CITIES = {
    "CAT-ITE": ("SD-JN", "SD-QD", "SD-YT", "SD-WH"),
    "CAT-HEQ": ("SD-JN", "SD-QD", "SD-YT", "SD-WF", "SD-JNG"),
    "CAT-NEQ": ("SD-DZ", "SD-LY", "SD-WF", "SD-JNG"),
    "CAT-NEV": ("SD-JN", "SD-QD", "SD-YT", "SD-WF", "SD-LY"),
    "CAT-PCM": ("SD-DY", "SD-ZB", "SD-YT", "SD-BZ"),
    "CAT-STL": ("SD-RZ", "SD-JN", "SD-LY", "SD-LC"),
    "CAT-NFM": ("SD-YT", "SD-BZ", "SD-LC"),
    "CAT-INM": ("SD-ZB", "SD-LY", "SD-TA"),
    "CAT-HPF": ("SD-WH", "SD-TA", "SD-DZ"),
    "CAT-FNM": ("SD-JN", "SD-QD", "SD-YT"),
    "CAT-BIO": ("SD-JN", "SD-HZ", "SD-DZ", "SD-ZB"),
    "CAT-BFU": ("SD-HZ", "SD-LY", "SD-LC", "SD-DZ"),
    "CAT-EEP": ("SD-JN", "SD-ZB", "SD-WF"),
}

CITY_NAMES = {
    "SD-JN": ("济南", "Jinan"), "SD-QD": ("青岛", "Qingdao"), "SD-ZB": ("淄博", "Zibo"),
    "SD-ZZ": ("枣庄", "Zaozhuang"), "SD-DY": ("东营", "Dongying"), "SD-YT": ("烟台", "Yantai"),
    "SD-WF": ("潍坊", "Weifang"), "SD-JNG": ("济宁", "Jining"), "SD-TA": ("泰安", "Tai'an"),
    "SD-WH": ("威海", "Weihai"), "SD-RZ": ("日照", "Rizhao"), "SD-LY": ("临沂", "Linyi"),
    "SD-DZ": ("德州", "Dezhou"), "SD-LC": ("聊城", "Liaocheng"), "SD-BZ": ("滨州", "Binzhou"),
    "SD-HZ": ("菏泽", "Heze"),
}  # fmt: skip
NAME_FIRST = (
    ("华", "Hua"), ("海", "Hai"), ("鲁", "Lu"), ("泰", "Tai"), ("恒", "Heng"), ("金", "Jin"),
    ("瑞", "Rui"), ("宏", "Hong"), ("新", "Xin"), ("东", "Dong"), ("润", "Run"), ("博", "Bo"),
    ("天", "Tian"), ("中", "Zhong"), ("安", "An"), ("盛", "Sheng"), ("联", "Lian"),
    ("鼎", "Ding"), ("嘉", "Jia"), ("明", "Ming"), ("凯", "Kai"), ("德", "De"), ("永", "Yong"),
    ("同", "Tong"), ("蓝", "Lan"), ("鑫", "Xin"), ("九", "Jiu"), ("齐", "Qi"),
)  # fmt: skip
NAME_SECOND = (
    ("信", "xin"), ("能", "neng"), ("纳", "na"), ("和", "he"), ("力", "li"), ("航", "hang"),
    ("诚", "cheng"), ("丰", "feng"), ("达", "da"), ("锐", "rui"), ("方", "fang"), ("泽", "ze"),
    ("远", "yuan"), ("元", "yuan"), ("创", "chuang"), ("辉", "hui"), ("源", "yuan"),
    ("川", "chuan"), ("宇", "yu"), ("科", "ke"), ("邦", "bang"), ("通", "tong"),
)  # fmt: skip
INDUSTRY_WORDS = {
    "CL-QD-SHA": (("智能家电", "Smart Appliance"), ("电器", "Electric Appliance"),
                  ("家居科技", "Smart Home Technology")),
    "CL-QD-RTE": (("轨道交通装备", "Rail Transit Equipment"), ("机车配件", "Locomotive Parts"),
                  ("轨道科技", "Rail Technology")),
    "CL-WF-PE": (("动力机械", "Power Machinery"), ("发动机", "Engine"),
                 ("传动科技", "Transmission Technology")),
    "CAT-ITE": (("电子科技", "Electronic Technology"), ("信息技术", "Information Technology"),
                ("半导体", "Semiconductor")),
    "CAT-HEQ": (("精密机械", "Precision Machinery"), ("数控装备", "CNC Equipment"),
                ("重工", "Heavy Industry")),
    "CAT-NEQ": (("新能源设备", "New Energy Equipment"), ("光伏科技", "Photovoltaic Technology"),
                ("风电装备", "Wind Power Equipment")),
    "CAT-NEV": (("新能源汽车", "New Energy Vehicle"), ("汽车零部件", "Auto Parts"),
                ("电池科技", "Battery Technology")),
    "CAT-PCM": (("石化", "Petrochemical"), ("化工新材料", "Chemical New Materials"),
                ("精细化工", "Fine Chemicals")),
    "CAT-STL": (("特钢", "Special Steel"), ("钢铁", "Iron and Steel"),
                ("金属制品", "Metal Products")),
    "CAT-NFM": (("铝业", "Aluminium"), ("有色金属", "Non-ferrous Metals"), ("铜业", "Copper")),
    "CAT-INM": (("新型建材", "New Building Materials"), ("陶瓷科技", "Ceramics Technology"),
                ("硅材料", "Silicon Materials")),
    "CAT-HPF": (("碳纤维", "Carbon Fibre"), ("复合材料", "Composite Materials"),
                ("纤维科技", "Fibre Technology")),
    "CAT-FNM": (("纳米材料", "Nanomaterials"), ("石墨烯科技", "Graphene Technology"),
                ("先进材料", "Advanced Materials")),
    "CAT-BIO": (("生物科技", "Biotechnology"), ("生物制品", "Biological Products"),
                ("生物工程", "Bioengineering")),
    "CAT-BFU": (("生物能源", "Bioenergy"), ("生物质燃料", "Biomass Fuel"),
                ("绿色能源", "Green Energy")),
    "CAT-EEP": (("环保设备", "Environmental Equipment"), ("节能科技", "Energy Saving Technology"),
                ("环境工程", "Environmental Engineering")),
}  # fmt: skip
COMPANY_FORMS = (("有限公司", "Co., Ltd."), ("股份有限公司", "Joint Stock Co., Ltd."))


def month_index(period: date) -> int:
    """Months since ``DEMO_FIRST_PERIOD`` (2017-01 is 0)."""
    return (period.year - DEMO_FIRST_PERIOD.year) * 12 + period.month - DEMO_FIRST_PERIOD.month


def _month(text: str) -> int:
    year, month = text.split("-")
    return month_index(date(int(year), int(month), 1))


@cache
def _key_frames(name: str) -> tuple[np.ndarray, np.ndarray]:
    frames = EPISODES[name]
    return (
        np.array([_month(month) for month, _ in frames], dtype=float),
        np.array([level for _, level in frames], dtype=float),
    )


def episode(name: str, months: np.ndarray) -> float:
    """Mean intensity of an episode over ``months`` (month indices)."""
    xs, ys = _key_frames(name)
    return float(np.interp(months, xs, ys, left=0.0, right=0.0).mean())


def crisis(months: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each firm's crisis intensity (0 for firms with none: ``starts`` of -1 never began)."""
    xs = np.array([x for x, _ in CRISIS_SHAPE], dtype=float)
    ys = np.array([y for _, y in CRISIS_SHAPE], dtype=float)
    since = months.mean() - starts
    shape = np.interp(since, xs, ys, left=0.0, right=ys[-1])
    return np.where(starts >= 0, shape, 0.0)


# ---------------------------------------------------------------------------- firms


@dataclass(frozen=True)
class Firm:
    """A generated (synthetic) firm: its code, names, city and cluster."""

    code: str
    name_zh: str
    name_en: str
    region: str
    cluster: str


@dataclass(frozen=True)
class FirmTraits:
    """Per-firm parameters, one array element per firm in ``build_firms`` order."""

    size: np.ndarray
    growth: np.ndarray
    sensitivity: np.ndarray
    export_share: np.ndarray
    exporter: np.ndarray
    trade: np.ndarray
    tech: np.ndarray
    chips: np.ndarray
    heavy: np.ndarray
    control: np.ndarray
    energy_base: np.ndarray
    delay_base: np.ndarray
    control_base: np.ndarray
    late: Mapping[str, np.ndarray]
    crisis_start: np.ndarray


def _place_firms(rng: np.random.Generator) -> list[tuple[str, str]]:
    """(cluster, city) of every firm, in a fixed order."""
    cities = [profile.code for profile in CITIES]
    base = np.array([profile.size for profile in CITIES], dtype=float)
    placed = []
    for cluster, count in FIRMS_PER_INDUSTRY.items():
        if cluster in CLUSTER_CITY:
            placed += [(cluster, CLUSTER_CITY[cluster])] * count
            continue
        weights = base * np.array([4.0 if c in CATEGORY_CITIES[cluster] else 1.0 for c in cities])
        chosen = rng.choice(len(cities), size=count, p=weights / weights.sum())
        placed += [(cluster, cities[i]) for i in chosen.tolist()]
    # Shuffled so that firm codes do not run industry by industry.
    return [placed[i] for i in rng.permutation(len(placed)).tolist()]


def _name(rng: np.random.Generator, cluster: str, city: str, taken: set[str]) -> tuple[str, str]:
    city_zh, city_en = CITY_NAMES[city]
    while True:
        first = NAME_FIRST[rng.integers(len(NAME_FIRST))]
        second = NAME_SECOND[rng.integers(len(NAME_SECOND))]
        words = INDUSTRY_WORDS[cluster][rng.integers(len(INDUSTRY_WORDS[cluster]))]
        form = COMPANY_FORMS[0 if rng.random() < 0.8 else 1]
        name_zh = f"{city_zh}{first[0]}{second[0]}{words[0]}{form[0]}"
        if name_zh not in taken:
            taken.add(name_zh)
            return name_zh, f"{city_en} {first[1]}{second[1]} {words[1]} {form[1]}"


@cache
def build_firms(seed: int = SEED) -> tuple[tuple[Firm, ...], FirmTraits]:
    """The demo firms and their traits, the same for the same ``seed``."""
    rng = np.random.default_rng([seed, 0])
    placed = _place_firms(rng)
    taken: set[str] = set()
    firms = tuple(
        Firm(f"F{number:05d}", *_name(rng, cluster, city, taken), region=city, cluster=cluster)
        for number, (cluster, city) in enumerate(placed, start=1)
    )
    return firms, _traits(rng, firms)


def _traits(rng: np.random.Generator, firms: Sequence[Firm]) -> FirmTraits:
    count = len(firms)
    profiles = {profile.code: profile for profile in INDUSTRIES}

    def of(attribute: str) -> np.ndarray:
        return np.array([getattr(profiles[f.cluster], attribute) for f in firms], dtype=float)

    trade, tech, chips, heavy = of("trade"), of("tech"), of("chips"), of("heavy")
    control = of("control")
    exposed = rng.random(count) < 0.35
    export_share = np.clip(rng.beta(2.0, 5.0, count) * (0.5 + trade), 0.0, 0.9)
    exporter = (rng.random(count) < 0.45 + 0.45 * trade) & (export_share >= 0.05)
    heavy_firm = np.clip(heavy * rng.uniform(0.6, 1.2, count), 0.0, 1.2)
    tech_firm = tech * rng.uniform(0.5, 1.5, count)
    late = {
        "weifang_2026": np.array(
            [1.0 if f.cluster == "CL-WF-PE" else 0.4 if f.region == "SD-WF" else 0.0 for f in firms]
        ),
        "dongying_2025": np.array(
            [
                1.0 if (f.cluster, f.region) == ("CAT-PCM", "SD-DY")
                else 0.5 if f.region == "SD-DY" or f.cluster == "CAT-PCM" else 0.0
                for f in firms
            ]
        ),
    }  # fmt: skip
    crisis_start = np.full(count, -1.0)
    hit = rng.choice(count, size=len(CRISIS_STARTS), replace=False)
    crisis_start[hit] = [_month(start) for start in CRISIS_STARTS]
    return FirmTraits(
        size=np.exp(rng.normal(np.log(1500.0), 0.9, count)),
        growth=of("growth") + rng.normal(0.0, 0.03, count),
        sensitivity=np.exp(rng.normal(0.0, 0.3, count)),
        export_share=export_share,
        exporter=exporter,
        trade=np.clip(trade * np.exp(rng.normal(0.0, 0.3, count)), 0.0, 1.5),
        tech=tech_firm,
        chips=chips * rng.uniform(0.5, 1.5, count),
        heavy=heavy_firm,
        control=np.where(exposed, control * rng.uniform(0.6, 1.4, count), 0.0),
        energy_base=55.0 + 25.0 * heavy_firm + rng.normal(0.0, 5.0, count),
        delay_base=np.clip(6.0 + 10.0 * tech_firm + rng.normal(0.0, 2.0, count), 2.0, None),
        control_base=1.0 + 5.0 * control * rng.random(count),
        late=late,
        crisis_start=crisis_start,
    )


def firm_records() -> list[dict[str, object]]:
    """The firms as catalog entity records (for ``monitor.catalog.apply_catalog``)."""
    firms, _ = build_firms()
    return [
        {
            "code": firm.code,
            "name_zh": firm.name_zh,
            "name_en": firm.name_en,
            "level": "enterprise",
            "kind": "firm",
            "region": firm.region,
            "cluster": firm.cluster,
            "synthetic": True,
        }
        for firm in firms
    ]


# ---------------------------------------------------------------------------- series


@dataclass(frozen=True)
class Driver:
    """How one indicator's synthetic values arise for a set of entities.

    Amounts: ``base * (1 + growth) ** years * (1 - effect) * (1 + noise * e)``;
    rates: ``base + effect + noise * e`` (at least ``floor``), where ``effect`` sums
    each episode's intensity times the entity's amplitude for it.
    """

    indicator: str
    frequency: Frequency
    entities: tuple[str, ...]
    base: np.ndarray
    noise: np.ndarray
    effects: Mapping[str, np.ndarray]
    amount: bool = True
    growth: np.ndarray | None = None
    crisis_amplitude: np.ndarray | None = None
    crisis_start: np.ndarray | None = None
    floor: float = 0.0
    decimals: int = 2

    def values(self, months: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        effect = np.zeros(len(self.entities))
        for name, amplitude in self.effects.items():
            effect = effect + amplitude * episode(name, months)
        if self.crisis_amplitude is not None and self.crisis_start is not None:
            effect = effect + self.crisis_amplitude * crisis(months, self.crisis_start)
        shock = rng.standard_normal(len(self.entities))
        if self.amount:
            years = months.mean() / 12.0
            trend = self.base * (1.0 + (self.growth if self.growth is not None else 0.0)) ** years
            values = trend * np.maximum(0.05, 1.0 - effect) * (1.0 + self.noise * shock)
        else:
            values = np.maximum(self.floor, self.base + effect + self.noise * shock)
        return np.round(values, self.decimals)


def _arr(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _most(exposure: np.ndarray, floor: float = 0.45) -> np.ndarray:
    """Exposure rescaled so that only the most exposed (above ``floor``) feel a shock."""
    return np.clip((exposure - floor) / (1.0 - floor), 0.0, None)


def _late(codes: Sequence[str]) -> dict[str, np.ndarray]:
    return {name: _arr([hit.get(c, 0.0) for c in codes]) for name, hit in LATE_SHOCKS.items()}


def _government_drivers() -> list[Driver]:
    """Shandong (the size-weighted mean of its cities' exposures) and its 16 cities."""
    weights = _arr([c.size for c in CITIES]) / sum(c.size for c in CITIES)

    def mean(attribute: str) -> float:
        return float(weights @ _arr([getattr(c, attribute) for c in CITIES]))

    province = Profile(
        "SD", sum(c.size for c in CITIES), mean("growth"), mean("trade"), mean("tech"),
        mean("heavy"), mean("control"), mean("chips"),
    )  # fmt: skip
    profiles = (province, *CITIES)
    codes = tuple(p.code for p in profiles)

    def col(attribute: str) -> np.ndarray:
        return _arr([getattr(p, attribute) for p in profiles])

    size, growth = col("size"), col("growth")
    trade, tech, heavy, control = col("trade"), col("tech"), col("heavy"), col("control")
    calm = np.where(np.arange(len(codes)) == 0, 0.5, 1.0)  # the province is an aggregate
    late = _late(codes)
    return [
        Driver(
            "GOV_IVA_INDEX", Frequency.MONTHLY, codes, np.full(len(codes), 100.0), 0.008 * calm,
            {"pandemic": np.full(len(codes), 0.24), "trade_war": 0.04 * trade,
             "dual_control": 0.05 * heavy, **{k: 0.2 * v for k, v in late.items()}},
            growth=growth,
        ),
        Driver(
            "GOV_PROFIT", Frequency.MONTHLY, codes, 25.0 * size, 0.04 * calm,
            {"pandemic": np.full(len(codes), 0.45), "trade_war": 0.10 * trade,
             "cost_squeeze": np.full(len(codes), 0.18), **{k: 0.3 * v for k, v in late.items()}},
            growth=growth - 0.02,
        ),
        Driver(
            "GOV_EXPORTS", Frequency.MONTHLY, codes, 40.0 * size, 0.03 * calm,
            {"pandemic": np.full(len(codes), 0.30), "trade_war": 0.30 * trade,
             **{k: 0.25 * v for k, v in late.items()}},
            growth=growth + 0.01,
        ),
        Driver(
            "GOV_TECH_CONTRACTS", Frequency.MONTHLY, codes, 8.0 * size, 0.05 * calm,
            {"pandemic": np.full(len(codes), 0.35), "trade_war": 0.45 * tech},
            growth=growth + 0.08,
        ),
        Driver(
            "GOV_CONTROL_EXPOSURE", Frequency.QUARTERLY, codes, 0.6 + 0.8 * control,
            0.12 * calm,
            {"controls_2019": 4.5 * _most(control), "controls_2023": 4.0 * _most(control)},
            amount=False,
        ),
        Driver(
            "GOV_POWER_CURB_DAYS", Frequency.MONTHLY, codes, 1.0 + 0.6 * heavy, 0.3 * calm,
            {"dual_control": 16.0 * heavy**2}, amount=False, decimals=1,
        ),
    ]  # fmt: skip


def _industry_drivers() -> list[Driver]:
    codes = tuple(p.code for p in INDUSTRIES)

    def col(attribute: str) -> np.ndarray:
        return _arr([getattr(p, attribute) for p in INDUSTRIES])

    size, growth = col("size"), col("growth")
    trade, tech, heavy = col("trade"), col("tech"), col("heavy")
    control, chips = col("control"), col("chips")
    late = _late(codes)
    return [
        Driver(
            "IND_OUTPUT", Frequency.MONTHLY, codes, size, np.full(len(codes), 0.015),
            {"pandemic": np.full(len(codes), 0.26), "trade_war": 0.10 * trade,
             "dual_control": 0.10 * heavy, "chip_shortage": 0.12 * chips,
             **{k: 0.32 * v for k, v in late.items()}},
            growth=growth,
        ),
        Driver(
            "IND_EXPORT_DELIVERY", Frequency.MONTHLY, codes, size * 0.3 * (0.5 + trade),
            np.full(len(codes), 0.03),
            {"pandemic": np.full(len(codes), 0.30), "trade_war": 0.35 * trade,
             **{k: 0.35 * v for k, v in late.items()}},
            growth=growth,
        ),
        Driver(
            "IND_COMPONENT_GAP", Frequency.MONTHLY, codes, 3.0 + 2.0 * tech,
            np.full(len(codes), 0.6),
            {"trade_war": 8.0 * tech**2, "pandemic": np.full(len(codes), 6.0),
             "chip_shortage": 14.0 * chips**2, "weifang_2026": 8.0 * late["weifang_2026"]},
            amount=False,
        ),
        Driver(
            "IND_CONTROL_EXPOSURE", Frequency.QUARTERLY, codes, 4.0 + 4.0 * control,
            np.full(len(codes), 0.6),
            {"controls_2019": 16.0 * _most(control), "controls_2023": 14.0 * _most(control),
             "weifang_2026": 8.0 * late["weifang_2026"]},
            amount=False,
        ),
        Driver(
            "IND_CURB_CAPACITY", Frequency.MONTHLY, codes, 2.0 + 3.0 * heavy,
            np.full(len(codes), 0.8),
            {"dual_control": 32.0 * heavy**2, "dongying_2025": 12.0 * late["dongying_2025"]},
            amount=False,
        ),
    ]  # fmt: skip


def _enterprise_drivers() -> list[Driver]:
    firms, t = build_firms()
    codes = tuple(f.code for f in firms)
    count = len(codes)
    crisis_depth = np.where(t.crisis_start >= 0, 0.8, 0.0)
    exporters = np.flatnonzero(t.exporter)
    return [
        Driver(
            "ENT_REVENUE", Frequency.MONTHLY, codes, t.size, np.full(count, 0.04),
            {"pandemic": 0.30 * t.sensitivity, "trade_war": 0.12 * t.trade,
             "dual_control": 0.15 * t.heavy, "chip_shortage": 0.15 * t.chips,
             "weifang_2026": 0.35 * t.late["weifang_2026"],
             "dongying_2025": 0.30 * t.late["dongying_2025"]},
            growth=t.growth, crisis_amplitude=crisis_depth, crisis_start=t.crisis_start,
        ),
        Driver(
            "ENT_EXPORTS", Frequency.MONTHLY, tuple(codes[i] for i in exporters),
            (t.size * t.export_share)[exporters], np.full(len(exporters), 0.06),
            {"pandemic": (0.32 * t.sensitivity)[exporters],
             "trade_war": (0.45 * t.trade)[exporters],
             "weifang_2026": (0.40 * t.late["weifang_2026"])[exporters],
             "dongying_2025": (0.30 * t.late["dongying_2025"])[exporters]},
            growth=t.growth[exporters], crisis_amplitude=crisis_depth[exporters],
            crisis_start=t.crisis_start[exporters],
        ),
        Driver(
            "ENT_ENERGY_QUOTA", Frequency.MONTHLY, codes, t.energy_base, np.full(count, 2.0),
            {"dual_control": 32.0 * t.heavy**2, "dongying_2025": 12.0 * t.late["dongying_2025"]},
            amount=False,
        ),
        Driver(
            "ENT_SUPPLY_DELAY", Frequency.QUARTERLY, codes, t.delay_base, np.full(count, 2.0),
            {"trade_war": 40.0 * t.tech**2, "pandemic": np.full(count, 30.0),
             "chip_shortage": 70.0 * t.chips**2, "weifang_2026": 30.0 * t.late["weifang_2026"]},
            amount=False, decimals=1,
        ),
        Driver(
            "ENT_CONTROL_EXPOSURE", Frequency.ANNUAL, codes, t.control_base, np.full(count, 0.8),
            {"controls_2019": 45.0 * t.control**2, "controls_2023": 40.0 * t.control**2},
            amount=False,
        ),
    ]  # fmt: skip


@cache
def _drivers() -> tuple[Driver, ...]:
    return (*_government_drivers(), *_industry_drivers(), *_enterprise_drivers())


# ---------------------------------------------------------------------------- periods


def _covered(period: date, frequency: Frequency) -> tuple[date, np.ndarray] | None:
    """The period a driver reports in month ``period`` and the months it covers, if any."""
    index = month_index(period)
    if frequency is Frequency.MONTHLY:
        return period, np.array([index], dtype=float)
    if frequency is Frequency.QUARTERLY and period.month % 3 == 0:
        return date(period.year, period.month - 2, 1), np.arange(index - 2, index + 1, dtype=float)
    if frequency is Frequency.ANNUAL and period.month == 12:
        return date(period.year, 1, 1), np.arange(index - 11, index + 1, dtype=float)
    return None


def _part(
    indicator: str, entities: Sequence[str], period: str, values: np.ndarray, synthetic: bool
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": np.full(len(entities), indicator, dtype=object),
            "entity": np.asarray(entities, dtype=object),
            "period": np.full(len(entities), period, dtype=object),
            "value": np.asarray(values, dtype=float),
            "synthetic": np.full(len(entities), synthetic, dtype=bool),
        }
    )


def _rng(period: date, indicator: str) -> np.random.Generator:
    """The random stream of one indicator in one month, independent of every other."""
    return np.random.default_rng([SEED, period.year, period.month, zlib.crc32(indicator.encode())])


def _annual_figures(year: int) -> Iterator[pd.DataFrame]:
    """Table 1, Table 3 and ISI as they are; after 2022 a synthetic continuation."""
    label = str(year)
    tables = (("IND_ENTRIES", TABLE1_ENTRIES, 0.05), ("GOV_EXPORT_COMPLEXITY",
              TABLE3_EXPORT_COMPLEXITY, 0.02))  # fmt: skip
    for indicator, table, noise in tables:
        codes = tuple(table)
        shock = _rng(date(year, 12, 1), indicator).standard_normal(len(codes))
        if year in REAL_YEARS:
            values = _arr([table[c][REAL_YEARS.index(year)] for c in codes])
            yield _part(indicator, codes, label, values, synthetic=False)
            continue
        if year < REAL_YEARS[0]:
            continue
        last = _arr([table[c][-1] for c in codes])
        first = _arr([table[c][0] for c in codes])
        growth = np.clip((last / first) ** (1 / (len(REAL_YEARS) - 1)) - 1, 0.0, 0.06)
        values = np.round(last * (1 + growth) ** (year - REAL_YEARS[-1]) * (1 + noise * shock))
        yield _part(indicator, codes, label, values, synthetic=True)
    if year == 2022:
        yield _part("IND_ISI", tuple(ISI_2022), label, _arr(list(ISI_2022.values())), False)


def _period_parts(period: date) -> list[pd.DataFrame]:
    if period < DEMO_FIRST_PERIOD or period.day != 1:
        raise ValueError(f"demo periods are months from {DEMO_FIRST_PERIOD:%Y-%m}, not {period}")
    parts = []
    for driver in _drivers():
        covered = _covered(period, driver.frequency)
        if covered is None:
            continue
        start, months = covered
        values = driver.values(months, _rng(period, driver.indicator))
        label = format_period(start, driver.frequency)
        parts.append(_part(driver.indicator, driver.entities, label, values, synthetic=True))
    if period.month == 12:
        parts.extend(_annual_figures(period.year))
    return parts


def generate_period(period: date) -> pd.DataFrame:
    """The long frame of values that become available in month ``period``.

    Monthly indicators give that month; quarterly ones their quarter when ``period``
    closes it; annual ones their year in December. Columns: indicator, entity, period
    (text such as ``2024-03``, ``2024Q1``, ``2024``), value, synthetic.
    """
    return pd.concat(_period_parts(period), ignore_index=True)


def generate_history(last: date = DEMO_LAST_PERIOD) -> pd.DataFrame:
    """Every month from ``DEMO_FIRST_PERIOD`` to ``last``, as one long frame."""
    parts: list[pd.DataFrame] = []
    period = DEMO_FIRST_PERIOD
    while period <= last:
        parts.extend(_period_parts(period))
        period = next_period(period, Frequency.MONTHLY)
    return pd.concat(parts, ignore_index=True)
