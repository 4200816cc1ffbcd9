"""The network guard both conftests use: any non-loopback connection from the test process fails."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback_address(host: str) -> bool:
    """True for loopback IPs and 'localhost' (a name the guard cannot resolve without the network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def block_non_loopback(patch, on_block) -> None:
    """Patch socket connects (with a pytest MonkeyPatch) so a non-loopback address calls `on_block`,
    which raises; loopback and Unix sockets go through."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback_address(str(address[0])):
            on_block(address)

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    patch.setattr(socket.socket, "connect", connect)
    patch.setattr(socket.socket, "connect_ex", connect_ex)
