#!/bin/bash
# Regenerates test/vectors/fwknop/client-2.6.10.json with Debian's fwknop client (fwknop-client 2.6.10).
# The keys come from `fwknop --key-gen` and are test-only. Run: bash test/vectors/fwknop-vectors.sh
set -euo pipefail
out=$(dirname "$0")/fwknop/client-2.6.10.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
K=$(HOME=$tmp fwknop --no-rc-file --no-save-args --key-gen | sed -n 's/^KEY_BASE64: //p')
H=$(HOME=$tmp fwknop --no-rc-file --no-save-args --key-gen | sed -n 's/^HMAC_KEY_BASE64: //p')
PASS=fwknoptest
cases=()
gen() { # name, fwknop arguments...
  local name=$1; shift
  HOME=$tmp fwknop --no-rc-file --no-save-args -D 127.0.0.1 --use-hmac -T -v -B "$tmp/$name.pkt" "$@" > "$tmp/$name.out"
  cases+=("$name")
}
B=(--key-base64-rijndael "$K" --key-base64-hmac "$H")
gen access-a "${B[@]}" -A tcp/22 -a 192.0.2.7
gen source-s "${B[@]}" -A tcp/22 -s
gen timeout-f "${B[@]}" -A tcp/22 -a 192.0.2.7 -f 600
gen multi-ports "${B[@]}" -A tcp/22,udp/53,tcp/443 -a 192.0.2.7 -U alice
gen hmac-md5 "${B[@]}" -A tcp/22 -a 192.0.2.7 --hmac-digest-type md5
gen hmac-sha1 "${B[@]}" -A tcp/22 -a 192.0.2.7 --hmac-digest-type sha1
gen hmac-sha384 "${B[@]}" -A tcp/22 -a 192.0.2.7 --hmac-digest-type sha384
gen hmac-sha512 "${B[@]}" -A tcp/22 -a 192.0.2.7 --hmac-digest-type sha512
gen digest-sha1 "${B[@]}" -A tcp/22 -a 192.0.2.7 -m sha1
gen passphrase --key-rijndael "$PASS" --key-base64-hmac "$H" -A tcp/22 -a 192.0.2.7
gen nat-access "${B[@]}" -A tcp/22 -a 192.0.2.7 -N 192.168.1.10:22
gen command "${B[@]}" -a 192.0.2.7 -C "touch /tmp/x"
node - "$tmp" "$K" "$H" "$PASS" "${cases[@]}" > "$out" <<'JS'
const fs = require('fs');
const [dir, key, hmac, pass, ...names] = process.argv.slice(2);
const field = (t, f) => { const m = new RegExp(`^ *${f}: (.*)$`, 'm').exec(t); return m ? m[1] : undefined; };
const cases = names.map((name) => {
  const t = fs.readFileSync(`${dir}/${name}.out`, 'utf8');
  const args = name === 'passphrase' ? { key_passphrase: pass } : {};
  return {
    name, ...args,
    hmac_digest: /HMAC Type: \d+ \((\w+)\)/.exec(t)[1].toLowerCase(),
    datagram: fs.readFileSync(`${dir}/${name}.pkt`, 'utf8').trim(),
    expect: {
      rand: field(t, 'Random Value'), username: field(t, 'Username'), timestamp: Number(field(t, 'Timestamp')),
      type: Number(/Message Type: (\d+)/.exec(t)[1]), message: field(t, 'Message String'),
      nat_access: field(t, 'Nat Access'), client_timeout: Number(field(t, 'Client Timeout')),
    },
  };
});
const doc = {
  about: 'SPA datagrams made by Debian fwknop-client 2.6.10 (test/vectors/fwknop-vectors.sh); test-only keys from fwknop --key-gen',
  key_base64: key, hmac_key_base64: hmac, cases,
};
process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
JS
echo "wrote $out"
