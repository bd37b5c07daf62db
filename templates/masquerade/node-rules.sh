# xcc node rules (run by `sh -c` in a short-lived host-network pod pinned to a node):
# print the node's nat table as `iptables-save` does, between markers.
#@flavour
echo "=== xcc:iptables-nat"
$save -t nat 2>&1
code=$?
echo "=== xcc:end $code"
exit "$code"
