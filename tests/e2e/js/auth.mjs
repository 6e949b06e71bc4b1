// The real supabase-js (auth-js) against a live apprun server's /auth/v1.
//
//   node auth.mjs <url> <anon key> <email> <password> signup
//   node auth.mjs <url> <anon key> <email> <password> session <code from the confirmation mail>
//
// "signup" signs up (the server mails a confirmation); "session" confirms with the mailed
// code, signs in, verifies the token with the JWKS, refreshes, updates the user, enrolls and
// verifies a TOTP factor, and signs out. Each step records what supabase-js gave back; the
// script prints {"client": version, "steps": {name: result}} and asserts nothing itself:
// tests/e2e/test_supabase_js_auth.py does.

import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const [url, key, email, password, phase, code] = process.argv.slice(2)
if (!url || !key || !email || !password || !phase) {
  process.stderr.write('usage: node auth.mjs <url> <anon key> <email> <password> signup|session [code]\n')
  process.exit(2)
}
const { version } = JSON.parse(
  readFileSync(new URL('./node_modules/@supabase/supabase-js/package.json', import.meta.url), 'utf8'),
)
const supabase = createClient(url, key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
})
const steps = {}

function errorOf(error) {
  return error ? { name: error.name, status: error.status ?? null, code: error.code ?? null, message: error.message } : null
}

async function step(name, run) {
  try {
    steps[name] = await run()
  } catch (thrown) {
    steps[name] = { thrown: String(thrown?.stack ?? thrown) }
  }
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), computed here, independently of the server.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0')
  const bytes = []
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2))
  return Buffer.from(bytes)
}
function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)))
  const mac = createHmac('sha1', base32(secret)).update(counter).digest()
  const offset = mac[mac.length - 1] & 0xf
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000
  return String(value).padStart(6, '0')
}

if (phase === 'signup') {
  await step('signUp', async () => {
    const { data, error } = await supabase.auth.signUp({ email, password, options: { data: { name: 'Ada' } } })
    return { error: errorOf(error), session: data.session !== null, email: data.user?.email ?? null,
             confirmed: data.user?.email_confirmed_at ?? null, name: data.user?.user_metadata?.name ?? null }
  })
  await step('signIn before confirming', async () => {
    const { error } = await supabase.auth.signInWithPassword({ email, password })
    return { error: errorOf(error) }
  })
} else {
  await step('verifyOtp', async () => {
    const { data, error } = await supabase.auth.verifyOtp({ email, token: code, type: 'signup' })
    return { error: errorOf(error), session: data.session !== null, confirmed: Boolean(data.user?.email_confirmed_at) }
  })
  let first = null
  await step('signInWithPassword', async () => {
    const { data, error } = await supabase.auth.signInWithPassword({ email, password })
    first = data.session
    return { error: errorOf(error), email: data.user?.email ?? null, token_type: data.session?.token_type ?? null }
  })
  await step('getClaims', async () => {
    const { data, error } = await supabase.auth.getClaims()
    return { error: errorOf(error), alg: data?.header?.alg ?? null, role: data?.claims?.role ?? null,
             aal: data?.claims?.aal ?? null, email: data?.claims?.email ?? null }
  })
  await step('refreshSession', async () => {
    const { data, error } = await supabase.auth.refreshSession()
    return { error: errorOf(error), rotated: data.session?.refresh_token !== first?.refresh_token,
             same_user: data.user?.id === first?.user?.id }
  })
  await step('reuse of the first refresh token', async () => {
    const other = createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: ws } })
    const { error } = await other.auth.refreshSession({ refresh_token: first.refresh_token })
    return { error: errorOf(error) }  // inside the reuse interval: still answers
  })
  await step('updateUser', async () => {
    const { data, error } = await supabase.auth.updateUser({ data: { name: 'Ada L.', theme: 'dark' } })
    return { error: errorOf(error), metadata: data.user?.user_metadata ?? null }
  })
  let factor = null
  await step('mfa.enroll', async () => {
    const { data, error } = await supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' })
    factor = data
    return { error: errorOf(error), type: data?.type ?? null, svg: String(data?.totp?.qr_code ?? '').includes('<svg'),
             uri: String(data?.totp?.uri ?? '').startsWith('otpauth://totp/') }
  })
  await step('mfa.challengeAndVerify', async () => {
    const { data, error } = await supabase.auth.mfa.challengeAndVerify({ factorId: factor.id, code: totp(factor.totp.secret) })
    return { error: errorOf(error), has_token: Boolean(data?.access_token) }
  })
  await step('getAuthenticatorAssuranceLevel', async () => {
    const { data, error } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel()
    return { error: errorOf(error), current: data?.currentLevel ?? null, next: data?.nextLevel ?? null }
  })
  await step('mfa.listFactors', async () => {
    const { data, error } = await supabase.auth.mfa.listFactors()
    return { error: errorOf(error), totp: data?.totp?.map((f) => f.status) ?? null }
  })
  let last = null
  await step('signOut', async () => {
    last = (await supabase.auth.getSession()).data.session
    const { error } = await supabase.auth.signOut()
    return { error: errorOf(error) }
  })
  await step('getUser with the signed-out token', async () => {
    const { data, error } = await supabase.auth.getUser(last.access_token)
    return { error: errorOf(error), user: data.user?.id ?? null }
  })
}
process.stdout.write(JSON.stringify({ client: version, steps }) + '\n')
