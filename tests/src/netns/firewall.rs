//! The iptables rules a lab host carries: which peers it is cut off from, whether it
//! is cut off from its LAN altogether, and how lossy its LAN link is.
//!
//! The rules live in two chains of the host's own namespace, `PLENUM_IN` (jumped to
//! from `INPUT`) and `PLENUM_OUT` (from `OUTPUT`). Every change rewrites both chains
//! from [`Rules`], so a state is always exactly what the test last asked for and
//! healing is flushing. Nothing is ever added to the host machine's own tables.

use std::net::Ipv4Addr;

/// The chain for packets arriving at the host.
pub(crate) const CHAIN_IN: &str = "PLENUM_IN";
/// The chain for packets the host sends.
pub(crate) const CHAIN_OUT: &str = "PLENUM_OUT";

/// What a host's firewall should do.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rules {
    /// Drop everything on the LAN interface, both ways.
    pub(crate) isolated: bool,
    /// Peers the host can neither send to nor hear from.
    pub(crate) blocked: Vec<Ipv4Addr>,
    /// Chance that each packet, in either direction, is dropped.
    pub(crate) loss: Option<f64>,
}

impl Rules {
    /// The `iptables` argument lists that turn empty chains into this state, in order.
    pub(crate) fn commands(&self, iface: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut add = |chain: &str, rule: &[&str]| {
            let mut cmd = vec!["-A".to_owned(), chain.to_owned()];
            cmd.extend(rule.iter().map(|s| (*s).to_owned()));
            out.push(cmd);
        };
        if self.isolated {
            add(CHAIN_IN, &["-i", iface, "-j", "DROP"]);
            add(CHAIN_OUT, &["-o", iface, "-j", "DROP"]);
        }
        for peer in &self.blocked {
            let peer = peer.to_string();
            add(CHAIN_IN, &["-s", &peer, "-j", "DROP"]);
            add(CHAIN_OUT, &["-d", &peer, "-j", "DROP"]);
        }
        if let Some(p) = self.loss {
            let p = format!("{p:.4}");
            let random = ["-m", "statistic", "--mode", "random", "--probability", &p];
            let mut rule_in = vec!["-i", iface];
            rule_in.extend(random);
            rule_in.extend(["-j", "DROP"]);
            add(CHAIN_IN, &rule_in);
            let mut rule_out = vec!["-o", iface];
            rule_out.extend(random);
            rule_out.extend(["-j", "DROP"]);
            add(CHAIN_OUT, &rule_out);
        }
        out
    }
}

/// The commands that create the two chains and hook them in, once per host.
pub(crate) fn setup_commands() -> Vec<Vec<String>> {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        args(&["-N", CHAIN_IN]),
        args(&["-N", CHAIN_OUT]),
        args(&["-A", "INPUT", "-j", CHAIN_IN]),
        args(&["-A", "OUTPUT", "-j", CHAIN_OUT]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(rules: &Rules) -> Vec<String> {
        rules.commands("eth0").iter().map(|c| c.join(" ")).collect()
    }

    #[test]
    fn default_rules_drop_nothing() {
        assert!(Rules::default().commands("eth0").is_empty());
    }

    #[test]
    fn blocking_a_peer_drops_both_directions() {
        let rules = Rules {
            blocked: vec![Ipv4Addr::new(10, 1, 0, 3)],
            ..Rules::default()
        };
        assert_eq!(
            joined(&rules),
            [
                "-A PLENUM_IN -s 10.1.0.3 -j DROP",
                "-A PLENUM_OUT -d 10.1.0.3 -j DROP"
            ]
        );
    }

    #[test]
    fn isolation_and_loss_apply_to_the_lan_interface_only() {
        let rules = Rules {
            isolated: true,
            loss: Some(0.25),
            ..Rules::default()
        };
        assert_eq!(
            joined(&rules),
            [
                "-A PLENUM_IN -i eth0 -j DROP",
                "-A PLENUM_OUT -o eth0 -j DROP",
                "-A PLENUM_IN -i eth0 -m statistic --mode random --probability 0.2500 -j DROP",
                "-A PLENUM_OUT -o eth0 -m statistic --mode random --probability 0.2500 -j DROP",
            ]
        );
    }
}
