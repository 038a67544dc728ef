"""`dangjian seed-demo`: a synthetic street (`street.py`) and eight weeks of its life, written as
the services would have left them."""
