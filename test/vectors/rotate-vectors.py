# Independent reference implementation of src/knock/rotate.ts deriveSequence, to produce test vectors.
import hmac, hashlib, json, struct
LABEL = b'nftknock/knock-rotate/v1\x00'
def stream(secret, counter):
    msg = LABEL + struct.pack('>Q', counter)
    yield from hmac.new(secret, msg, hashlib.sha256).digest()
    i = 1
    while True:
        yield from hmac.new(secret, msg + struct.pack('>I', i), hashlib.sha256).digest()
        i += 1
def below(it, n, nbytes):
    space = 1 << (8 * nbytes)
    limit = space - space % n
    while True:
        x = next(it) << 8 | next(it) if nbytes == 2 else next(it)
        if x < limit: return x % n
def derive(secret, counter, length, lo, hi, protos):
    it = stream(secret, counter); used = set(); out = []
    while len(out) < length:
        p = lo + below(it, hi - lo + 1, 2)
        if p in used: continue
        used.add(p)
        proto = protos[0] if len(protos) == 1 else protos[below(it, len(protos), 1)]
        out.append(f'{p}:{proto}')
    return out
cases = []
s1 = bytes(range(32)); s2 = b'0123456789abcdef'
for name, secret, counter, length, lo, hi, protos in [
    ('defaults', s1, 0, 4, 10000, 60000, ['tcp']),
    ('large counter', s1, 57_000_000, 4, 10000, 60000, ['tcp']),
    ('max u32+1 counter', s1, 2**32 + 1, 4, 10000, 60000, ['tcp']),
    ('two protocols', s2, 12345, 6, 20000, 30000, ['tcp', 'udp']),
    ('16 knocks needs a second block', s1, 7, 16, 1024, 65535, ['udp', 'tcp']),
    ('tiny range forces redraws', s2, 99, 4, 40000, 40015, ['tcp']),
    ('whole port space', s2, 1, 5, 1, 65535, ['udp']),
]:
    cases.append({'label': name, 'secretHex': secret.hex(), 'counter': counter, 'length': length,
                  'portLow': lo, 'portHigh': hi, 'protocols': protos, 'sequence': derive(secret, counter, length, lo, hi, protos)})
print(json.dumps({'about': 'deriveSequence vectors, computed by an independent Python implementation (hmac, hashlib) of the scheme in src/knock/rotate.ts', 'label': LABEL.decode('latin1').replace('\x00', '\\0'), 'cases': cases}, indent=2))
