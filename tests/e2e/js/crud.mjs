// CRUD on the `posts` collection through /rest/v1 with the real supabase-js.
//
//   node crud.mjs <url> <service_role key>      (or APPRUN_URL and APPRUN_SERVICE_KEY)
//
// The collection must exist and be empty (tests/e2e/conftest.py creates it). Every step
// records what supabase-js gave back ({status, data, count, error}) and the requests it sent
// with the responses it got; the script prints one JSON object
// {"client": <supabase-js version>, "steps": {name: result}, "wire": {name: [exchange]}}.
// It makes no assertion itself: tests/e2e/test_supabase_js.py checks the results.

import { readFileSync } from 'node:fs'
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const url = process.argv[2] ?? process.env.APPRUN_URL
const key = process.argv[3] ?? process.env.APPRUN_SERVICE_KEY
if (!url || !key) {
  process.stderr.write('usage: node crud.mjs <url> <service_role key>\n')
  process.exit(2)
}

const { version } = JSON.parse(
  readFileSync(
    new URL('./node_modules/@supabase/supabase-js/package.json', import.meta.url),
    'utf8',
  ),
)

const steps = {}
const wire = {}
let current = null

const SHOWN_REQUEST_HEADERS = ['accept', 'prefer', 'content-type', 'accept-profile', 'content-profile']
const SHOWN_RESPONSE_HEADERS = ['content-type', 'content-range', 'preference-applied', 'location']

function pick(headers, names) {
  return Object.fromEntries(names.filter((n) => headers.has(n)).map((n) => [n, headers.get(n)]))
}

// Records every exchange of the current step, then hands the response to supabase-js as is.
async function recordingFetch(input, init = {}) {
  const target = new URL(input instanceof Request ? input.url : String(input))
  const exchange = {
    method: init.method ?? 'GET',
    path: target.pathname + target.search,
    decoded: decodeURIComponent(target.pathname + target.search),
    request_headers: pick(new Headers(init.headers), SHOWN_REQUEST_HEADERS),
    request_body: typeof init.body === 'string' ? init.body : null,
  }
  if (current !== null) wire[current].push(exchange)
  const response = await fetch(input, init)
  exchange.status = response.status
  exchange.response_headers = pick(response.headers, SHOWN_RESPONSE_HEADERS)
  exchange.response_body = await response.clone().text()
  return response
}

const supabase = createClient(url, key, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  global: { fetch: recordingFetch },
  // Node 20 has no WebSocket of its own, and supabase-js sets up realtime eagerly.
  realtime: { transport: ws },
})

async function step(name, run) {
  current = name
  wire[name] = []
  try {
    const { status, data, count, error } = await run()
    steps[name] = {
      status,
      data: data ?? null,
      count: count ?? null,
      error: error
        ? { code: error.code, message: error.message, details: error.details, hint: error.hint }
        : null,
    }
  } catch (thrown) {
    steps[name] = { thrown: String(thrown?.stack ?? thrown) }
  }
  current = null
}

const P1 = {
  id: 'p1',
  title: 'Alpha',
  views: 10,
  score: 1.5,
  published: true,
  tags: ['news', 'tech'],
  slug: 'alpha',
}
const P2 = {
  id: 'p2',
  title: 'beta',
  views: 600,
  score: null,
  published: false,
  tags: ['tech'],
  slug: 'beta',
}
const P3 = {
  id: 'p3',
  title: 'Gamma (2)',
  views: 0,
  score: 3.0,
  published: true,
  tags: [],
  slug: 'gamma',
}

const posts = () => supabase.from('posts')
const ids = () => posts().select('id')

// Inserts: supabase-js returns data only when .select() is chained.
await step('insert one, then .select()', () => posts().insert(P1).select())
await step('bulk insert, then .select(cols)', () =>
  posts().insert([P2, P3]).select('id, title, views'),
)
await step('select *', () => posts().select('*').order('id'))
await step('select with an alias', () => posts().select('id, heading:title').eq('id', 'p1'))

// Filters
const filters = {
  eq: ids().eq('views', 10),
  neq: ids().neq('views', 10),
  gt: ids().gt('views', 10),
  gte: ids().gte('views', 10),
  lt: ids().lt('views', 10),
  lte: ids().lte('views', 10),
  'like with %': ids().like('title', '%a'),
  'like with *': ids().like('title', 'A*'),
  'like is case-sensitive': ids().like('title', 'alpha'),
  ilike: ids().ilike('title', 'a%'),
  'ilike with *': ids().ilike('title', '*MM*'),
  in: ids().in('id', ['p1', 'p3']),
  'in with quoted values': ids().in('title', ['Gamma (2)', 'Alpha']),
  'is null': ids().is('score', null),
  'is true': ids().is('published', true),
  'not is null': ids().not('score', 'is', null),
  'eq on a boolean': ids().eq('published', false),
  'contains one': ids().contains('tags', ['tech']),
  'contains two': ids().contains('tags', ['news', 'tech']),
  or: ids().or('views.eq.10,views.eq.0'),
  match: ids().match({ published: true, views: 0 }),
}
for (const [name, query] of Object.entries(filters)) {
  await step(`filter ${name}`, () => query.order('id'))
}

// Order, limit, range, count
await step('order desc', () => ids().order('views', { ascending: false }))
await step('order asc, nulls last', () => ids().order('score'))
await step('order desc, nulls first', () => ids().order('score', { ascending: false }))
await step('order desc nullsFirst false', () =>
  ids().order('score', { ascending: false, nullsFirst: false }),
)
await step('order on two columns', () =>
  ids().order('published', { ascending: false }).order('views'),
)
await step('limit', () => ids().order('views').limit(2))
await step('range', () => ids().order('views').range(1, 2))
await step("count 'exact' with a filter and a limit", () =>
  posts().select('id', { count: 'exact' }).gt('views', 5).order('id').limit(1),
)
await step("count 'exact', head: true", () =>
  posts().select('*', { count: 'exact', head: true }),
)

// single / maybeSingle
await step('.single() on one row', () => posts().select('id, title').eq('id', 'p1').single())
await step('.single() on several rows', () => posts().select('id').single())
await step('.maybeSingle() on one row', () =>
  posts().select('id, title').eq('id', 'p2').maybeSingle(),
)
await step('.maybeSingle() on no row', () => posts().select('id').eq('id', 'nope').maybeSingle())
await step('.maybeSingle() on several rows', () => posts().select('id').maybeSingle())

// Upsert
await step('upsert merges on the primary key', () =>
  posts().upsert({ id: 'p1', title: 'Alpha 2' }).select(),
)
await step('upsert with onConflict merges on a unique column', () =>
  posts().upsert({ title: 'Beta 2', slug: 'beta' }, { onConflict: 'slug' }).select(),
)
await step('upsert with ignoreDuplicates skips the existing row', () =>
  posts()
    .upsert({ title: 'Other', slug: 'gamma' }, { onConflict: 'slug', ignoreDuplicates: true })
    .select(),
)
await step('the skipped row is unchanged', () => posts().select('title').eq('id', 'p3'))
await step('insert without .select()', () =>
  posts().insert({ id: 'p4', title: 'Delta', slug: 'delta' }),
)
await step('bulk upsert merges one row and inserts another', () =>
  posts()
    .upsert([
      { id: 'p4', title: 'Delta 2', views: 4 },
      { id: 'p5', title: 'Epsilon', views: 5 },
    ])
    .select('id, title, views, published, slug'),
)

// Update and delete
await step('update().eq(), then .select()', () =>
  posts().update({ views: 42 }).eq('published', true).select(),
)
await step('update().eq() without .select()', () =>
  posts().update({ score: 2.5 }).eq('id', 'p1'),
)
await step('update().eq(), then .select(cols)', () =>
  posts().update({ published: true }).eq('id', 'p1').select('id, published'),
)
await step('update that matches nothing', () =>
  posts().update({ views: 1 }).eq('id', 'nope').select(),
)
await step('.single() update of two rows', () =>
  posts().update({ views: 7 }).eq('published', true).select().single(),
)
await step('the .single() update was rolled back', () =>
  posts().select('views').eq('published', true),
)
await step('delete().eq(), then .select(cols)', () =>
  posts().delete().eq('id', 'p2').select('id, title'),
)
await step('delete().in() without .select()', () => posts().delete().in('id', ['p4', 'p5']))
await step('what is left', () => posts().select('*').order('id'))

// Errors
await step('a duplicate unique value', () => posts().insert({ title: 'Copy', slug: 'alpha' }))
await step('a duplicate id, with .select()', () =>
  posts().insert({ id: 'p1', title: 'Again' }).select(),
)
await step('a bulk insert with a duplicate', () =>
  posts().insert([
    { id: 'p6', title: 'Fresh' },
    { id: 'p7', title: 'Dup', slug: 'alpha' },
  ]),
)
await step('the failed bulk insert left nothing', () => ids().in('id', ['p6', 'p7']))
await step('a missing required value', () => posts().insert({ views: 1 }))
await step('an unknown table', () => supabase.from('nope').select('*'))

process.stdout.write(JSON.stringify({ client: version, steps, wire }) + '\n')
