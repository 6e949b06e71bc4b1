// tus-js-client against a live apprun: upload part of a file, abort, resume with a new
// Upload from the stored URL. Usage: node tus.mjs <base url> <service key> <file> <object>
import { readFileSync } from "node:fs";
import * as tus from "tus-js-client";

const [base, key, path, objectName] = process.argv.slice(2);
const data = readFileSync(path);
const options = {
  endpoint: `${base}/storage/v1/upload/resumable`,
  headers: { authorization: `Bearer ${key}`, apikey: key, "x-upsert": "true" },
  uploadDataDuringCreation: true,
  chunkSize: 256 * 1024,
  retryDelays: [0, 500],
  metadata: { bucketName: "tus", objectName, contentType: "application/octet-stream" },
};

const firstUrl = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    ...options,
    onChunkComplete(_size, accepted) {
      if (accepted >= 1024 * 1024) {
        upload.abort().then(() => resolve(upload.url), reject);
      }
    },
    onError: reject,
    onSuccess: () => reject(new Error("finished before the abort")),
  });
  upload.start();
});

let resumedFrom = null;
await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    ...options,
    uploadUrl: firstUrl,
    onProgress(sent) {
      if (resumedFrom === null) resumedFrom = sent;
    },
    onError: reject,
    onSuccess: resolve,
  });
  upload.start();
});
console.log(JSON.stringify({ url: firstUrl, resumedFrom }));
