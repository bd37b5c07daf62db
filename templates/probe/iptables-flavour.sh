# The iptables flavour that holds the node's rules, as kube-proxy's iptables-wrapper decides:
# nf_tables when it has nat rules, else legacy when the legacy nat table is loaded (reading
# /proc loads no module), else whatever `iptables` is. Sets $ipt, $save and $restore.
if iptables-nft-save -t nat 2>/dev/null | grep -q '^-A '; then flavour=-nft
elif [ -r /proc/net/ip_tables_names ] && grep -qx nat /proc/net/ip_tables_names && command -v iptables-legacy >/dev/null 2>&1; then flavour=-legacy
else flavour=''
fi
ipt="iptables$flavour"
save="iptables$flavour-save"
restore="iptables$flavour-restore"
