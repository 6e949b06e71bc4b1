// Supabase Storage through the real supabase-js: buckets, uploads of every body kind,
// downloads, info, listing, signed URLs fetched with plain HTTP, signed uploads, move, copy,
// remove, public URLs, errors, empty and delete; then two signed-in users on `avatars`.
//
//   node storage.mjs <url> <service_role key> <anon key>
//
// Prints one JSON object {step: what supabase-js gave back}; tests/e2e/test_storage_clients.py
// checks it. It makes no assertion itself. The `avatars` bucket (owner-only policies) and
// autoconfirmed sign-ups are set up by the test before.

import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const [url, serviceKey, anonKey] = process.argv.slice(2)
if (!url || !serviceKey || !anonKey) {
  process.stderr.write('usage: node storage.mjs <url> <service_role key> <anon key>\n')
  process.exit(2)
}
const options = {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
}
const storage = createClient(url, serviceKey, options).storage
const PASSWORD = 'a long and unusual passphrase'
const steps = {}

function shown(error) {
  return error ? { name: error.name, status: error.status, statusCode: error.statusCode } : null
}

async function text(blob) {
  return blob ? await blob.text() : null
}

async function step(name, run) {
  try {
    steps[name] = await run()
  } catch (thrown) {
    steps[name] = { thrown: String(thrown?.stack ?? thrown) }
  }
}

const docs = storage.from('docs')

await step('create bucket', async () => {
  const { data, error } = await storage.createBucket('docs', {
    public: false, fileSizeLimit: 1024, allowedMimeTypes: ['text/*'],
  })
  return { data, error: shown(error) }
})
await step('duplicate bucket', async () => shown((await storage.createBucket('docs')).error))
await step('list buckets', async () => {
  const { data, error } = await storage.listBuckets()
  return { ids: data?.map((b) => b.id), error: shown(error) }
})
await step('get bucket', async () => {
  const { data, error } = await storage.getBucket('docs')
  return {
    public: data?.public, fileSizeLimit: data?.file_size_limit,
    allowed: data?.allowed_mime_types, owner: typeof data?.owner, error: shown(error),
  }
})
await step('update bucket', async () => {
  const { data, error } = await storage.updateBucket('docs', {
    public: false, fileSizeLimit: '2KB', allowedMimeTypes: ['text/*', 'image/png'],
  })
  const after = (await storage.getBucket('docs')).data
  return {
    data, error: shown(error), fileSizeLimit: after?.file_size_limit,
    allowed: after?.allowed_mime_types,
  }
})
await step('upload blob', async () => {
  const { data, error } = await docs.upload('notes/a.txt', new Blob(['alpha'], { type: 'text/plain' }))
  return { path: data?.path, fullPath: data?.fullPath, id: typeof data?.id, error: shown(error) }
})
await step('upload file', async () => {
  const file = new File(['bravo'], 'b.txt', { type: 'text/plain' })
  const { data, error } = await docs.upload('notes/b.txt', file, { upsert: false })
  return { path: data?.path, error: shown(error) }
})
await step('upload buffer', async () => {
  const { data, error } = await docs.upload('notes/deep/c.txt', Buffer.from('charlie'), {
    contentType: 'text/plain', metadata: { colour: 'red' },
  })
  return { path: data?.path, error: shown(error) }
})
await step('upload string', async () => {
  const { data, error } = await docs.upload('notes/d.txt', 'delta')
  return { path: data?.path, error: shown(error) }
})
await step('duplicate upload', async () => shown((await docs.upload('notes/a.txt', 'again')).error))
await step('upsert', async () => {
  const { error } = await docs.upload('notes/a.txt', Buffer.from('alpha 2'), {
    upsert: true, contentType: 'text/plain',
  })
  const { data } = await docs.download('notes/a.txt')
  return { error: shown(error), text: await text(data) }
})
await step('update', async () => {
  const { data, error } = await docs.update('notes/b.txt', new Blob(['bravo 2'], { type: 'text/plain' }))
  return { path: data?.path, error: shown(error), text: await text((await docs.download('notes/b.txt')).data) }
})
await step('download', async () => {
  const { data, error } = await docs.download('notes/deep/c.txt')
  return { text: await text(data), type: data?.type, error: shown(error) }
})
await step('info', async () => {
  const { data, error } = await docs.info('notes/deep/c.txt')
  return {
    name: data?.name, size: data?.size, bucketId: data?.bucketId,
    contentType: data?.contentType, metadata: data?.metadata, error: shown(error),
  }
})
await step('exists', async () => ({
  yes: (await docs.exists('notes/a.txt')).data,
  no: (await docs.exists('notes/nothing.txt')).data,
}))
await step('list', async () => {
  const { data, error } = await docs.list('notes')
  return {
    names: data?.map((e) => e.name), folderId: data?.find((e) => e.name === 'deep')?.id,
    size: data?.find((e) => e.name === 'a.txt')?.metadata?.size, error: shown(error),
  }
})
await step('list search', async () => (await docs.list('notes', { search: 'd' })).data?.map((e) => e.name))
await step('list sorted', async () => (await docs.list('notes', {
  sortBy: { column: 'name', order: 'desc' },
})).data?.map((e) => e.name))
await step('list page', async () => (await docs.list('notes', { limit: 2, offset: 1 })).data?.map((e) => e.name))
await step('signed url', async () => {
  const { data, error } = await docs.createSignedUrl('notes/a.txt', 60)
  const fetched = await fetch(data.signedUrl)
  return { status: fetched.status, text: await fetched.text(), error: shown(error) }
})
await step('signed url download', async () => {
  const { data } = await docs.createSignedUrl('notes/a.txt', 60, { download: 'x.txt' })
  const fetched = await fetch(data.signedUrl)
  return { status: fetched.status, disposition: fetched.headers.get('content-disposition') }
})
await step('signed urls', async () => {
  const { data, error } = await docs.createSignedUrls(['notes/a.txt', 'notes/nothing.txt'], 60)
  const fetched = await fetch(data[0].signedUrl)
  return {
    items: data?.map((i) => [i.path, i.error === null, i.signedUrl !== null]),
    text: await fetched.text(), error: shown(error),
  }
})
await step('signed upload', async () => {
  const made = await docs.createSignedUploadUrl('signed/e.txt')
  const { data, error } = await docs.uploadToSignedUrl(
    'signed/e.txt', made.data.token, new Blob(['echo'], { type: 'text/plain' }),
  )
  return {
    path: data?.path, fullPath: data?.fullPath, error: shown(made.error ?? error),
    text: await text((await docs.download('signed/e.txt')).data),
  }
})
await step('move', async () => {
  const { data, error } = await docs.move('signed/e.txt', 'moved/e.txt')
  return { data, error: shown(error), sourceExists: (await docs.exists('signed/e.txt')).data }
})
await step('copy', async () => {
  const { data, error } = await docs.copy('moved/e.txt', 'copied/e.txt')
  return { path: data?.path, error: shown(error), text: await text((await docs.download('copied/e.txt')).data) }
})
await step('remove', async () => {
  const { data, error } = await docs.remove(['moved/e.txt', 'copied/e.txt', 'never/there.txt'])
  return { names: data?.map((r) => r.name).sort(), error: shown(error) }
})
await step('missing object', async () => shown((await docs.download('notes/nothing.txt')).error))
await step('too large', async () => shown((await docs.upload('big.txt', 'x'.repeat(4096))).error))
await step('wrong type', async () => shown((await docs.upload('x.json', new Blob(['{}'], { type: 'application/json' }))).error))
await step('missing bucket', async () => shown((await storage.getBucket('nope')).error))
await step('public url', async () => {
  await storage.createBucket('pub', { public: true })
  const pub = storage.from('pub')
  const { error } = await pub.upload('hello.txt', 'public hello')
  const { data } = pub.getPublicUrl('hello.txt')
  const fetched = await fetch(data.publicUrl)
  return { status: fetched.status, text: await fetched.text(), error: shown(error) }
})
await step('delete non-empty', async () => shown((await storage.deleteBucket('docs')).error))
await step('empty bucket', async () => {
  const { data, error } = await storage.emptyBucket('docs')
  return { message: typeof data?.message, error: shown(error), left: (await docs.list('notes')).data }
})
await step('delete bucket', async () => {
  const { data, error } = await storage.deleteBucket('docs')
  return { data, error: shown(error), ids: (await storage.listBuckets()).data?.map((b) => b.id) }
})

// Two end users on `avatars`: each sees only their own files.
const ada = createClient(url, anonKey, options)
const bob = createClient(url, anonKey, options)
let adaId = null
await step('sign up', async () => {
  const one = await ada.auth.signUp({ email: 'ada@example.com', password: PASSWORD })
  const two = await bob.auth.signUp({ email: 'bob@example.com', password: PASSWORD })
  adaId = one.data.user?.id
  return { ada: !!one.data.session, bob: !!two.data.session }
})
await step('user upload', async () => {
  const { data, error } = await ada.storage.from('avatars').upload(
    `${adaId}/me.png`, new Blob(['PNG ada'], { type: 'image/png' }),
  )
  return { path: data?.path === `${adaId}/me.png`, error: shown(error) }
})
await step('user reads own', async () => {
  const mine = ada.storage.from('avatars')
  return {
    text: await text((await mine.download(`${adaId}/me.png`)).data),
    names: (await mine.list(adaId)).data?.map((e) => e.name),
  }
})
await step('other user', async () => {
  const theirs = bob.storage.from('avatars')
  const download = await theirs.download(`${adaId}/me.png`)
  const overwrite = await theirs.upload(`${adaId}/me.png`, 'bob was here', {
    upsert: true, contentType: 'image/png',
  })
  return {
    download: shown(download.error),
    list: (await theirs.list(adaId)).data,
    root: (await theirs.list()).data,
    exists: (await theirs.exists(`${adaId}/me.png`)).data,
    remove: (await theirs.remove([`${adaId}/me.png`])).data,
    overwrite: overwrite.error?.statusCode ?? null,
    still: await text((await ada.storage.from('avatars').download(`${adaId}/me.png`)).data),
  }
})

process.stdout.write(JSON.stringify(steps))
