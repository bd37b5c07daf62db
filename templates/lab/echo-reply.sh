#!/bin/sh
# One answer of the lab echo server (socat sets SOCAT_PEERADDR and SOCAT_SOCKADDR/SOCKPORT).
body="client_address=${SOCAT_PEERADDR:-unknown}
server=${XCC_ECHO_NAME:-unknown}
server_address=${SOCAT_SOCKADDR:-unknown}:${SOCAT_SOCKPORT:-unknown}
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
# drain the request so the close is clean (socat -T ends idle clients)
exec cat >/dev/null
