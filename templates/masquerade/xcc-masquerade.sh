# xcc-masquerade (run by `sh -c` in the xcc-masquerade DaemonSet: host network, NET_ADMIN):
# keep pod traffic to the ranges in $XCC_MASQ_CIDRS masqueraded on this node.
#   nat chain XCC-MASQ: one MASQUERADE rule per range, then a RETURN stamped with this pod's name
#   nat POSTROUTING: the jump to XCC-MASQ as the FIRST rule, so that it decides before any
#   RETURN for 10.0.0.0/8 further down (kubenet rule, IP-MASQ chain: SNAT-09, SNAT-11, SNAT-14)
# Reconciled every $XCC_MASQ_RESYNC_SECONDS. On SIGTERM (DaemonSet deleted) the chain and the
# jump are removed — unless a newer pod of the DaemonSet has taken them over (rolling update).
set -u
chain=XCC-MASQ
jump_comment="xcc-masquerade: masquerade pod traffic to peer ranges (must stay first)"
owner="xcc-masquerade owner=${XCC_POD_NAME:-$(hostname)}"
interval="${XCC_MASQ_RESYNC_SECONDS:-30}"
random=' --random-fully'
#@flavour

chain_text() {
  out="*nat
:$chain - [0:0]
"
  for cidr in $(printf '%s' "${XCC_MASQ_CIDRS:-}" | tr ',' ' '); do
    out="$out-A $chain -d $cidr -m comment --comment \"xcc-masquerade: $cidr\" -j MASQUERADE$random
"
  done
  printf '%s-A %s -m comment --comment "%s" -j RETURN\nCOMMIT\n' "$out" "$chain" "$owner"
}

jump() {
  $ipt -t nat "$1" POSTROUTING $2 -m comment --comment "$jump_comment" -m addrtype ! --dst-type LOCAL -j "$chain"
}

reconcile() {
  # declaring the chain in --noflush mode replaces its rules in one transaction
  if ! chain_text | $restore --noflush 2>/dev/null; then
    [ -n "$random" ] || { chain_text | $restore --noflush; return 1; }
    random=''
    echo "xcc-masquerade: MASQUERADE --random-fully is not supported here; using plain MASQUERADE"
    chain_text | $restore --noflush || return 1
  fi
  first=$($save -t nat | grep '^-A POSTROUTING ' | head -n 1)
  case "$first" in
    *"-j $chain"*) ;;
    *)
      while jump -D '' 2>/dev/null; do :; done
      jump -I 1 || return 1
      echo "xcc-masquerade: jump to $chain placed first in nat POSTROUTING"
      ;;
  esac
  now=$($save -t nat | grep -e "^-A $chain " -e "-j $chain\$")
  if [ "$now" != "${last:-}" ]; then
    echo "xcc-masquerade: rules in place ($save):"
    printf '%s\n' "$now"
    last=$now
  fi
}

cleanup() {
  # in a rolling update the new pod starts first (maxSurge) and stamps the chain with its name
  # at once; give it that moment before deciding whose chain this is
  sleep 2
  if $save -t nat | grep -qF -- "--comment \"$owner\""; then
    while jump -D '' 2>/dev/null; do :; done
    $ipt -t nat -F "$chain" 2>/dev/null
    $ipt -t nat -X "$chain" 2>/dev/null
    echo "xcc-masquerade: removed $chain and its jump"
  else
    echo "xcc-masquerade: $chain is kept by a newer pod; left in place"
  fi
  exit 0
}
trap cleanup TERM INT HUP

echo "xcc-masquerade: masquerading ${XCC_MASQ_CIDRS:-nothing} with $ipt, every ${interval}s"
# a second pass soon after start repairs what an old pod's cleanup may have raced with
pause=3
while :; do
  reconcile || echo "xcc-masquerade: reconcile failed; retrying in ${interval}s" >&2
  sleep "$pause" &
  wait $!
  pause=$interval
done
