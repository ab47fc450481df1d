//! The socket of one TCP connection, asked of the kernel by its four addresses
//! (`NETLINK_SOCK_DIAG`, `inet_diag_req_v2`): one answer about one socket, where `/proc/net/tcp`
//! writes out every TCP socket on the machine (milliseconds on a busy one) for each lookup.
//! Written by hand on rustix's netlink socket: the crates that speak sock_diag bring a whole
//! netlink framework for these two fixed-size messages.

use std::net::{IpAddr, SocketAddr};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink, recv, send, socket};

/// `SOCK_DIAG_BY_FAMILY`, `NLM_F_REQUEST`, `NLMSG_ERROR` (linux/sock_diag.h, netlink.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const IPPROTO_TCP: u8 = 6;
/// `nlmsghdr` + `inet_diag_req_v2`.
const REQUEST_LEN: usize = 16 + 56;
/// Where `idiag_inode` sits in the answer: `nlmsghdr` (16), then `inet_diag_msg`'s four bytes,
/// its 48-byte `inet_diag_sockid`, expires, rqueue, wqueue and uid (4 each).
const INODE_AT: usize = 16 + 4 + 48 + 16;

/// The inode of the socket whose local address is `from` and whose peer is `to` (for a
/// connection to a listener of ours: `from` is the client's end), or `None`.
pub fn inode_of(from: SocketAddr, to: SocketAddr) -> Option<u32> {
    let fd = socket(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        Some(netlink::SOCK_DIAG),
    )
    .ok()?;
    let request = request(from, to)?;
    send(&fd, &request, SendFlags::empty()).ok()?;
    let mut answer = [0u8; 512];
    let (n, _) = recv(&fd, &mut answer, RecvFlags::empty()).ok()?;
    let answer = answer.get(..n)?;
    let kind = u16::from_ne_bytes(answer.get(4..6)?.try_into().ok()?);
    // NLMSG_ERROR: no such socket (or no sock_diag in this kernel).
    if kind == NLMSG_ERROR || kind != SOCK_DIAG_BY_FAMILY {
        return None;
    }
    let inode = u32::from_ne_bytes(answer.get(INODE_AT..INODE_AT + 4)?.try_into().ok()?);
    (inode != 0).then_some(inode)
}

/// The request: header, then family, TCP, no extensions, every state, and the socket's id.
fn request(from: SocketAddr, to: SocketAddr) -> Option<[u8; REQUEST_LEN]> {
    let family = match (from.ip(), to.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => 2u8,  // AF_INET
        (IpAddr::V6(_), IpAddr::V6(_)) => 10u8, // AF_INET6
        _ => return None,
    };
    let mut r = [0u8; REQUEST_LEN];
    r[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    r[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    r[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    // seq (8..12) and pid (12..16) stay 0: the kernel answers this socket.
    r[16] = family;
    r[17] = IPPROTO_TCP;
    r[20..24].copy_from_slice(&u32::MAX.to_ne_bytes()); // every TCP state
    // inet_diag_sockid: ports and addresses in network order, no interface, no cookie.
    r[24..26].copy_from_slice(&from.port().to_be_bytes());
    r[26..28].copy_from_slice(&to.port().to_be_bytes());
    let octets = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&v4.octets());
            a
        }
        IpAddr::V6(v6) => v6.octets(),
    };
    r[28..44].copy_from_slice(&octets(from.ip()));
    r[44..60].copy_from_slice(&octets(to.ip()));
    r[64..72].copy_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_names_the_socket_of_a_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        let inode = inode_of(peer, listener.local_addr().unwrap()).expect("an inode");
        // It is the client's socket: this process holds it.
        let wanted = format!("socket:[{inode}]");
        let held = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == wanted));
        assert!(held, "{wanted} is not one of this process's descriptors");
        drop(client);
        // A connection that does not exist: no answer.
        let nobody: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(inode_of(nobody, listener.local_addr().unwrap()), None);
    }
}
