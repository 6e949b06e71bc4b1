// The auth admin API through the real supabase-js: create, list (pagination headers), read,
// ban, sign out, delete.
//
//   node admin.mjs <url> <service_role key> <anon key>
//
// Prints one JSON object {step: what supabase-js gave back}; tests/e2e/test_supabase_js_admin.py
// checks it. It makes no assertion itself.

import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const [url, serviceKey, anonKey] = process.argv.slice(2)
if (!url || !serviceKey || !anonKey) {
  process.stderr.write('usage: node admin.mjs <url> <service_role key> <anon key>\n')
  process.exit(2)
}
const options = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
}
const admin = createClient(url, serviceKey, options).auth.admin
const users = createClient(url, anonKey, options).auth
const PASSWORD = 'a long and unusual passphrase'
const steps = {}

function shown(error) {
  return error ? { status: error.status, code: error.code ?? null, name: error.name } : null
}

async function step(name, run) {
  try {
    steps[name] = await run()
  } catch (thrown) {
    steps[name] = { thrown: String(thrown?.stack ?? thrown) }
  }
}

let ada = null
await step('create', async () => {
  const { data, error } = await admin.createUser({
    email: 'ada@example.com', password: PASSWORD, email_confirm: true,
    user_metadata: { name: 'Ada' }, app_metadata: { plan: 'pro' },
  })
  ada = data.user
  return { email: data.user?.email, plan: data.user?.app_metadata?.plan, error: shown(error) }
})
await step('create more', async () => {
  const made = []
  for (const email of ['bob@example.com', 'eve@example.com']) {
    const { data, error } = await admin.createUser({ email, email_confirm: true })
    made.push(error ? shown(error) : data.user.email)
  }
  return made
})
await step('duplicate', async () => {
  const { error } = await admin.createUser({ email: 'ada@example.com' })
  return shown(error)
})
await step('list page 1', async () => {
  const { data, error } = await admin.listUsers({ page: 1, perPage: 2 })
  return {
    emails: data.users.map((u) => u.email), nextPage: data.nextPage ?? null,
    lastPage: data.lastPage ?? null, total: data.total ?? null, error: shown(error),
  }
})
await step('list defaults', async () => {
  const { data } = await admin.listUsers()
  return { count: data.users.length, lastPage: data.lastPage ?? null, total: data.total ?? null }
})
await step('get', async () => {
  const { data, error } = await admin.getUserById(ada.id)
  return { id: data.user?.id === ada.id, error: shown(error) }
})
await step('ban', async () => {
  const { data, error } = await admin.updateUserById(ada.id, { ban_duration: '1h30m' })
  return { banned: Boolean(data.user?.banned_until), error: shown(error) }
})
await step('banned sign-in', async () => {
  const { error } = await users.signInWithPassword({ email: 'ada@example.com', password: PASSWORD })
  return shown(error)
})
await step('unban, sign in, admin sign-out', async () => {
  await admin.updateUserById(ada.id, { ban_duration: 'none' })
  const { data, error } = await users.signInWithPassword({
    email: 'ada@example.com', password: PASSWORD,
  })
  if (error) return { signIn: shown(error) }
  const out = await admin.signOut(data.session.access_token, 'global')
  const after = await users.getUser(data.session.access_token)
  return { signOut: shown(out.error), after: shown(after.error) }
})
await step('delete', async () => {
  const { error } = await admin.deleteUser(ada.id)
  const after = await admin.getUserById(ada.id)
  return { error: shown(error), after: shown(after.error) }
})
process.stdout.write(JSON.stringify(steps) + '\n')
process.exit(0)
