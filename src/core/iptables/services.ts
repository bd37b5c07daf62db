/**
 * Service names iptables accepts where a port goes (`--dport https`): it asks getservbyname,
 * i.e. /etc/services. iptables-save always prints numbers, so only hand-written dumps carry
 * names; these are the common ones of Debian's netbase list (IANA's numbers). A name missing
 * here makes its rule unsupported rather than a load error: the machine may know it.
 */
export const SERVICE_PORTS: ReadonlyMap<string, number> = new Map([
  ['ftp-data', 20], ['ftp', 21], ['ssh', 22], ['telnet', 23], ['smtp', 25], ['domain', 53], ['bootps', 67], ['bootpc', 68],
  ['tftp', 69], ['http', 80], ['www', 80], ['kerberos', 88], ['pop3', 110], ['sunrpc', 111], ['ntp', 123], ['netbios-ns', 137],
  ['netbios-dgm', 138], ['netbios-ssn', 139], ['imap2', 143], ['imap', 143], ['snmp', 161], ['snmp-trap', 162], ['bgp', 179],
  ['ldap', 389], ['https', 443], ['microsoft-ds', 445], ['submissions', 465], ['isakmp', 500], ['syslog', 514], ['rtsp', 554],
  ['submission', 587], ['ipp', 631], ['ldaps', 636], ['domain-s', 853], ['rsync', 873], ['ftps-data', 989], ['ftps', 990],
  ['imaps', 993], ['pop3s', 995], ['openvpn', 1194], ['ms-sql-s', 1433], ['radius', 1812], ['radius-acct', 1813], ['nfs', 2049],
  ['mysql', 3306], ['svn', 3690], ['epmd', 4369], ['sip', 5060], ['sip-tls', 5061], ['xmpp-client', 5222], ['xmpp-server', 5269],
  ['mdns', 5353], ['postgresql', 5432], ['amqps', 5671], ['amqp', 5672], ['x11', 6000], ['redis', 6379], ['ircd', 6667],
  ['http-alt', 8080], ['webcache', 8080], ['tproxy', 8081], ['puppet', 8140], ['git', 9418],
])
