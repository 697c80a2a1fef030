// The `replicate` npm client against our server, as its users call it: only baseUrl and the
// token changed. Prints one JSON object of what it saw (test_replicate_npm.py reads it).
// Usage: node replicate_client.js <client dir> <base url> <token> <face.jpg>
const path = require("path");
const fs = require("fs");

const [clientDir, baseUrl, token, facePath] = process.argv.slice(2);
const Replicate = require(path.join(clientDir, "node_modules", "replicate"));

async function main() {
  const replicate = new Replicate({ auth: token, baseUrl: `${baseUrl}/v1`, useFileOutput: false });
  const face = fs.readFileSync(facePath);
  // A Buffer input: the client uploads it to /v1/files and passes the file's URL.
  const made = await replicate.predictions.create({
    model: "minimax/video-01",
    input: { prompt: "She smiles [Push in]", subject_reference: face },
  });
  // Queued behind the first (one worker): a cancel reaches it before it starts.
  const doomed = await replicate.predictions.create({
    model: "minimax/video-01",
    input: { subject_reference: `data:image/jpeg;base64,${face.toString("base64")}` },
  });
  const canceled = await replicate.predictions.cancel(doomed.id);
  const done = await replicate.wait(made, { interval: 200 });
  const got = await replicate.predictions.get(made.id);
  const page = await replicate.predictions.list();
  const listed = [];
  for await (const results of replicate.paginate(replicate.predictions.list)) {
    listed.push(...results.map((p) => p.id));
  }
  const files = await replicate.files.list();
  console.log(
    JSON.stringify({
      created: { id: made.id, status: made.status },
      waited: { id: done.id, status: done.status, output: done.output, logs: done.logs },
      got: { id: got.id, status: got.status, output: got.output },
      firstPage: page.results.map((p) => p.id),
      listed,
      canceled: { id: canceled.id, status: canceled.status },
      canceledLater: (await replicate.predictions.get(doomed.id)).status,
      files: files.results.map((f) => f.name),
    }),
  );
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
