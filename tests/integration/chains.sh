# Every key type and every profile, in chains of depth 2 and 3, verified by
# openssl verify -x509_strict and GnuTLS certtool.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Chains Root" --key-type p384 >/dev/null
hm -d ca ca new --name mid --cn "Chains Mid" --pathlen 1 >/dev/null
hm -d ca ca new --name leafca --parent mid --cn "Chains Leaf CA" \
    --key-type ed25519 >/dev/null
ROOT=ca/ca/root/cert.pem

for kt in ed25519 p256 p384 rsa2048 rsa3072 rsa4096; do
	# CA keys of every type too: one intermediate per type.
	hm -d ca ca new --name "ca-$kt" --cn "CA $kt" --key-type "$kt" \
	    >/dev/null
	for ca in "ca-$kt" leafca; do
		for prof in server client both; do
			n="$ca-$prof-$kt"
			hm -d ca issue --profile "$prof" --ca "$ca" \
			    --new-key "$n.key" --key-type "$kt" --cn "$n" \
			    --san "dns:$n.example.net" --san ip:192.0.2.7 \
			    -o "$n.pem" --chain-out "$n.chain" >/dev/null
			case $prof in
			server) purposes=sslserver ;;
			client) purposes=sslclient ;;
			both) purposes="sslserver sslclient" ;;
			esac
			for pu in $purposes; do
				verify_chain "$ROOT" "$n.chain" "$pu"
			done
			# Depth: 2 CAs above the leaf, or 3 via leafca.
			want=2; [ "$ca" = leafca ] && want=3
			got=$(grep -c "BEGIN CERTIFICATE" "$n.chain")
			[ "$got" -eq "$want" ] ||
			    die "$n.chain has $got certificates, want $want"
			# A server certificate must not pass as a client one.
			if [ "$prof" = server ]; then
				if openssl verify -x509_strict -purpose sslclient \
				    -CAfile "$ROOT" -untrusted "$n.chain" \
				    "$n.pem" >/dev/null 2>&1; then
					die "$n passes as a client certificate"
				fi
			fi
		done
	done
done
# The CAs themselves verify as CAs.
for ca in mid leafca ca-p256 ca-rsa4096; do
	openssl verify -x509_strict -CAfile "$ROOT" \
	    -untrusted ca/ca/mid/cert.pem "ca/ca/$ca/cert.pem" >/dev/null ||
	    die "CA $ca does not verify"
	pass
done
done_ok
