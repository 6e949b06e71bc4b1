// supabase-js's PKCE flow against a live apprun server: sign up with flowType "pkce", wait for
// the `?code=` the confirmation link redirected to (one line on stdin), then
// exchangeCodeForSession(code) with the verifier the client kept.
//
//   node pkce.mjs <url> <anon key> <email> <password> <redirect_to>
//
// Prints two JSON lines: {"signUp": …} once the mail is asked for, then
// {"exchangeCodeForSession": …, "getUser": …}. tests/e2e/test_auth_clients.py asserts.

import { createInterface } from 'node:readline'
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const [url, key, email, password, redirectTo] = process.argv.slice(2)
const memory = new Map()
const storage = {
  getItem: (k) => memory.get(k) ?? null,
  setItem: (k, v) => void memory.set(k, v),
  removeItem: (k) => void memory.delete(k),
}
const supabase = createClient(url, key, {
  auth: { flowType: 'pkce', storage, persistSession: true, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
})
const errorOf = (e) => (e ? { name: e.name, status: e.status ?? null, code: e.code ?? null, message: e.message } : null)

const signedUp = await supabase.auth.signUp({ email, password, options: { emailRedirectTo: redirectTo } })
const verifierKept = [...memory.keys()].some((k) => k.endsWith('-code-verifier'))
process.stdout.write(JSON.stringify({ signUp: { error: errorOf(signedUp.error), session: signedUp.data.session !== null, verifierKept } }) + '\n')

const lines = createInterface({ input: process.stdin })
const code = (await lines[Symbol.asyncIterator]().next()).value.trim()
lines.close()
const exchanged = await supabase.auth.exchangeCodeForSession(code)
const me = await supabase.auth.getUser()
process.stdout.write(JSON.stringify({
  exchangeCodeForSession: { error: errorOf(exchanged.error), session: exchanged.data.session !== null,
                            email: exchanged.data.user?.email ?? null },
  getUser: { error: errorOf(me.error), confirmed: Boolean(me.data.user?.email_confirmed_at) },
}) + '\n')
