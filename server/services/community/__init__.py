"""党员双报到 and the 四单制: 居民点单、社区下单、党员接单、组织晒单.

- `roles`: who runs a community's business
- `units`: communities taking part, 报到单位 and their 报到码
- `volunteers`: 报到党员 registering, confirmed or refused by the community
- `residents`: residents registering, posting needs (点单)
- `orders`: service orders (下单), claims (接单), work done, confirmation, rating
- `posts`: standing posts (先锋岗, 楼栋长) members take on for months (认岗, 退岗); not counted
- `timeline`: every step of a need and an order
- `showcase`: the public 晒单 list
- `counts`: the figures reported upward
"""
