"""The WeChat protocol layer: signatures and crypto, message parsing, replies, the API client."""
