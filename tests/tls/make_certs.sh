#!/bin/sh
# Test certificates for tests/tls, made fresh at test time with GnuTLS's certtool
# (Debian gnutls-bin) into DIR: two CAs, a server certificate from each (for
# 127.0.0.1, ::1 and localhost), an expired server certificate, and client certificates.
# ECDSA P-256 keys: quick to make. Usage: make_certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
command -v certtool >/dev/null || { echo "certtool not found (Debian gnutls-bin)" >&2; exit 77; }

key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$1" 2>/dev/null; }

ca() { # name
	key "$1.key"
	printf 'cn = "vgpu-vnc test %s"\nca\ncert_signing_key\nexpiration_days = 30\n' "$1" > "$1.tmpl"
	certtool --generate-self-signed --load-privkey "$1.key" --template "$1.tmpl" \
		--outfile "$1.pem" 2>/dev/null
}

leaf() { # name ca kind(server|client) [extra template lines]
	key "$1.key"
	{
		printf 'cn = "%s"\n' "$1"
		if [ "$3" = server ]; then
			printf 'tls_www_server\ndns_name = "localhost"\nip_address = "127.0.0.1"\nip_address = "::1"\n'
		else
			printf 'tls_www_client\n'
		fi
		printf 'signing_key\nencryption_key\n'
		printf '%s\n' "${4:-expiration_days = 30}"
	} > "$1.tmpl"
	certtool --generate-certificate --load-privkey "$1.key" --load-ca-certificate "$2.pem" \
		--load-ca-privkey "$2.key" --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}

ca ca1
ca ca2
leaf server1 ca1 server
leaf server2 ca2 server
leaf expired ca1 server 'activation_date = "2020-01-01 00:00:00"
expiration_date = "2021-01-01 00:00:00"'
leaf client1 ca1 client
leaf client2 ca2 client
# A key that belongs to no certificate here, for the key-mismatch check.
key other.key
chmod 600 ./*.key
