"""Moved to ``deploy.tcp_proxy`` (the soak uses it too); kept so tests written against the old
path still import."""

from deploy.tcp_proxy import TcpProxy, free_port, proxied

__all__ = ["TcpProxy", "free_port", "proxied"]
