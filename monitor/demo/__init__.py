"""The embedded demo data set: Shandong's regions, clusters and 2,000 generated firms."""

from monitor.demo.generate import DEMO_FIRST_PERIOD, DEMO_LAST_PERIOD, generate_period
from monitor.demo.load import DemoReport, extend_demo, load_demo

__all__ = [
    "DEMO_FIRST_PERIOD",
    "DEMO_LAST_PERIOD",
    "DemoReport",
    "extend_demo",
    "generate_period",
    "load_demo",
]
