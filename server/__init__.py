"""dangjian: the WeChat backend a Party organisation runs for its members."""

__version__ = "0.1.0"
