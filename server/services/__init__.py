"""Domain services: plain async functions over the ORM, with no knowledge of HTTP or WeChat."""
