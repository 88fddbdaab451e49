//! Published ports: `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`, as Docker's `-p`.

use std::net::Ipv4Addr;

use super::NetworkError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One host port forwarded to a port of the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    /// The host address to listen on; all of them when unset.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl std::fmt::Display for PortMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(f, "{}:{}/{}", self.host_port, self.container_port, self.protocol.name())
    }
}

fn port(text: &str, value: &str, which: &str) -> Result<u16, NetworkError> {
    text.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| NetworkError::Port {
        value: value.to_string(),
        reason: format!("the {which} port must be a number from 1 to 65535"),
    })
}

impl std::str::FromStr for PortMapping {
    type Err = NetworkError;
    fn from_str(value: &str) -> Result<Self, NetworkError> {
        let bad = |reason: &str| NetworkError::Port { value: value.to_string(), reason: reason.to_string() };
        let (ports, protocol) = match value.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some(_) => return Err(bad("the protocol must be `tcp` or `udp`")),
            None => (value, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (host_ip, host, container) = match parts.as_slice() {
            [h, c] => (None, *h, *c),
            [ip, h, c] => {
                let ip = ip.parse::<Ipv4Addr>().map_err(|_| bad("the host address must be an IPv4 address"))?;
                (Some(ip), *h, *c)
            }
            _ => return Err(bad("expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]")),
        };
        Ok(PortMapping {
            host_ip,
            host_port: port(host, value, "host")?,
            container_port: port(container, value, "container")?,
            protocol,
        })
    }
}

/// A comma-separated list, as the publish annotation holds it.
pub fn parse_list(list: &str) -> Result<Vec<PortMapping>, NetworkError> {
    list.split(',').filter(|s| !s.is_empty()).map(str::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_forms_parse() {
        let p: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(p, PortMapping { host_ip: None, host_port: 8080, container_port: 80, protocol: Protocol::Tcp });
        let p: PortMapping = "127.0.0.1:5353:53/udp".parse().unwrap();
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.protocol, Protocol::Udp);
        assert_eq!(p.to_string(), "127.0.0.1:5353:53/udp");
        assert_eq!(parse_list("1:2,3:4/udp").unwrap().len(), 2);
    }

    #[test]
    fn bad_forms_say_why() {
        for (value, why) in [
            ("80", "expected [HOST_IP:]"),
            ("0:80", "host port"),
            ("80:70000", "container port"),
            ("80:80/sctp", "protocol"),
            ("::1:80:80", "expected"),
            ("host:80:80", "IPv4"),
        ] {
            let err = value.parse::<PortMapping>().unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid published port `{value}`")) && err.contains(why), "{err}");
        }
    }
}
