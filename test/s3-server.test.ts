import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from './support/s3-server';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

it('stores and returns an object over the S3 protocol', async () => {
  await s3.createBucket('probe');
  await s3.client.send(new PutObjectCommand({ Bucket: 'probe', Key: 'a/b.json', Body: '{"x":1}' }));
  const got = await s3.client.send(new GetObjectCommand({ Bucket: 'probe', Key: 'a/b.json' }));
  expect(await got.Body?.transformToString()).toBe('{"x":1}');
});
