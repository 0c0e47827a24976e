#!/usr/bin/env bash
# Makes a local CA and certificates for trying mesgate with TLS (not for production: use your
# plant's PKI there). Needs openssl.
#   deploy/make-test-ca.sh OUT_DIR [SERVER_NAME...]
# writes into OUT_DIR:
#   ca.pem, ca.key              the local CA (10 years)
#   server.pem, server.key      for --tls-cert/--tls-key; SANs: localhost, 127.0.0.1, ::1 and SERVER_NAMEs
#   client.pem, client.key      a client certificate signed by the CA, for --tls-client-ca ca.pem
# Keys are EC P-256, mode 600. Existing files in OUT_DIR are replaced.
set -euo pipefail
out=${1:?usage: deploy/make-test-ca.sh OUT_DIR [SERVER_NAME...]}
shift
mkdir -p "$out"
cd "$out"
umask 077

sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then sans+=",IP:$name"; else sans+=",DNS:$name"; fi
done

openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=mesgate local test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

issue() {  # issue NAME CN EXTENDED_KEY_USAGE [SANS]
  local name=$1 cn=$2 eku=$3 san=${4:-}
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
issue server "mesgate" serverAuth "$sans"
issue client "mes-client" clientAuth
rm -f ca.srl
chmod 600 ./*.key
chmod 644 ./*.pem
echo "made in $out: ca.pem server.pem server.key client.pem client.key (server names: $sans)"
