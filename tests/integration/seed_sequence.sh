#!/usr/bin/env bash
# The seed's curl sequence (shared/seeds), verbatim but for $BASE, $IMAGE and $CALLBACK.
set -euo pipefail
export YOUR_API_KEY="$KEY";
export YOUR_API_SECRET="$SECRET";
# unix time or any random integer value
export NONCE=$(date +%s);
# hmac-SHA256 (YOUR_API_SECRET+Nonce) with YOUR_API_KEY
export SIGNATURE="$(echo -n "${YOUR_API_SECRET}${NONCE}" | openssl dgst -sha256 -hmac "${YOUR_API_KEY}")";

curl -s -X POST "$BASE/v1/Run/MiniMax/image-to-video-hailuo-01-subject" -H "Content-Type: multipart/form-data" -H "x-api-key: ${YOUR_API_KEY}" -H "x-nonce: ${NONCE}" -H "x-signature: ${SIGNATURE}" -d '{
  "inputImageFirstUrl": "'"$IMAGE"'",
  "prompt": "A cinematic, sun-drenched photograph of a stylish woman walking on a sidewalk in Los Angeles. The scene is framed by a row of iconic palm trees lining the street, their fronds swaying gently against a clear blue sky. The woman is dressed in fashionable, casual clothing suitable for the warm weather, and she has a relaxed and confident stride. The light is golden, suggesting either early morning or late afternoon, creating long, dramatic shadows. In the background, there are hints of classic L.A. architecture and the cityscape. The image should be captured with a wide-angle lens to emphasize the scale of the palm trees and the expansive urban environment, with a shallow depth of field to focus on the woman.",
  "callbackUrl": "'"$CALLBACK"'"
}' > run.json;
TASKID=$(python3 -c 'import json;print(json.load(open("run.json"))["taskid"])')
TOKEN=$(python3 -c 'import json;print(json.load(open("run.json"))["socketaccesstoken"])')

for i in $(seq 1 600); do
  curl -s -X POST "$BASE/v1/Task/Detail" -H "Content-Type: multipart/form-data" -H "x-api-key: ${YOUR_API_KEY}" -H "x-nonce: ${NONCE}" -H "x-signature: ${SIGNATURE}" -d '{
    "taskid": "'"$TASKID"'"
  }' > detail-id.json;
  STATUS=$(python3 -c 'import json;print(json.load(open("detail-id.json"))["tasklist"][0]["status"])')
  if [ "$STATUS" = task_postprocess_end ] || [ "$STATUS" = task_cancel ]; then break; fi
  sleep 0.2
done

curl -s -X POST "$BASE/v1/Task/Detail" -H "Content-Type: multipart/form-data" -H "x-api-key: ${YOUR_API_KEY}" -H "x-nonce: ${NONCE}" -H "x-signature: ${SIGNATURE}" -d '{
  "tasktoken": "'"$TOKEN"'"
}' > detail-token.json;
echo "$SIGNATURE" > signature.txt
