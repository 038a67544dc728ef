"""Chat routing in the style of aiogram: routers per feature, filters, injected arguments."""

from server.dispatch.context import ChatContext, PrivateReply, normalise
from server.dispatch.dispatcher import Dispatcher
from server.dispatch.router import Router

__all__ = ["ChatContext", "Dispatcher", "PrivateReply", "Router", "normalise"]
