// MFA with TOTP through /auth/v1/factors with the real supabase-js.
//
//   node mfa.mjs <url> <anon key> <email> <password>
//
// Signs up (the project must auto-confirm), enrolls a TOTP factor, verifies codes that
// `oathtool` computes, and prints one JSON object {"client": <version>, "steps": {name: result}}.
// It makes no assertion itself: tests/e2e/test_supabase_js_mfa.py checks the results.

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const [url, key, email, password] = process.argv.slice(2)
if (!url || !key || !email || !password) {
  process.stderr.write('usage: node mfa.mjs <url> <anon key> <email> <password>\n')
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

function totp(secret) {
  return execFileSync('oathtool', ['--totp=sha1', '-b', secret], { encoding: 'utf8' }).trim()
}

function summary(error) {
  return error ? { name: error.name, status: error.status, code: error.code } : null
}

async function step(name, run) {
  try {
    steps[name] = await run()
  } catch (thrown) {
    steps[name] = { thrown: String(thrown?.stack ?? thrown) }
  }
}

let factor = null
await step('sign up', async () => {
  const { data, error } = await supabase.auth.signUp({ email, password })
  return { session: Boolean(data.session), error: summary(error) }
})
await step('enroll', async () => {
  const { data, error } = await supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'js' })
  factor = data
  return {
    type: data?.type,
    friendly_name: data?.friendly_name,
    qr_code_is_data_url: Boolean(data?.totp?.qr_code?.startsWith('data:image/svg+xml;utf-8,<svg')),
    uri_is_otpauth: Boolean(data?.totp?.uri?.startsWith('otpauth://totp/')),
    error: summary(error),
  }
})
await step('assurance before', async () => {
  const { data, error } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel()
  return { current: data?.currentLevel, next: data?.nextLevel, error: summary(error) }
})
let code = null
await step('challenge and verify', async () => {
  const { data: challenge, error } = await supabase.auth.mfa.challenge({ factorId: factor.id })
  if (error) return { error: summary(error) }
  code = totp(factor.totp.secret)
  const verified = await supabase.auth.mfa.verify({
    factorId: factor.id, challengeId: challenge.id, code,
  })
  return {
    challenge_type: challenge.type,
    expires_in_future: challenge.expires_at > Date.now() / 1000,
    session: Boolean(verified.data?.access_token),
    error: summary(verified.error),
  }
})
await step('assurance after', async () => {
  const { data, error } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel()
  return {
    current: data?.currentLevel,
    next: data?.nextLevel,
    methods: data?.currentAuthenticationMethods?.map((m) => m.method),
    error: summary(error),
  }
})
await step('list factors', async () => {
  const { data, error } = await supabase.auth.mfa.listFactors()
  return {
    all: data?.all?.map((f) => f.status),
    totp: data?.totp?.map((f) => f.id === factor.id),
    error: summary(error),
  }
})
await step('the same code again', async () => {
  const { error } = await supabase.auth.mfa.challengeAndVerify({ factorId: factor.id, code })
  return { error: summary(error) }
})
await step('unenroll', async () => {
  const { data, error } = await supabase.auth.mfa.unenroll({ factorId: factor.id })
  return { same_id: data?.id === factor.id, error: summary(error) }
})

process.stdout.write(JSON.stringify({ client: version, steps }))
