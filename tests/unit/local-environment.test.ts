/** The local run gives each function the environment the template deploys it with, resources swapped for local ones. */
import { LOCAL_RESULTS_BUCKET, LOCAL_TABLE, localEnvironment } from '../../local/stack';
import type { TemplateFunction } from '../../local/template';

const fn = (environment: Record<string, string>): TemplateFunction => ({
  logicalId: 'SomeFunction',
  entryPoint: 'x.ts',
  exportName: 'handler',
  timeoutSeconds: 3,
  memoryMb: 512,
  environment,
});

it('replaces the stack resources and the layer path with their local stand-ins and keeps the rest', () => {
  const env = localEnvironment(
    fn({
      TABLE_NAME: '<Ref MoviesTable>',
      RESULTS_BUCKET: '<Ref ResultsBucket>',
      FFPROBE_PATH: '/opt/bin/ffprobe',
      FFPROBE_TIMEOUT_SECONDS: '60',
      NODE_OPTIONS: '--enable-source-maps',
    }),
    'layers/ffprobe/build/x86_64/bin/ffprobe',
  );
  expect(env).toMatchObject({
    TABLE_NAME: LOCAL_TABLE,
    RESULTS_BUCKET: LOCAL_RESULTS_BUCKET,
    FFPROBE_PATH: 'layers/ffprobe/build/x86_64/bin/ffprobe',
    FFPROBE_TIMEOUT_SECONDS: '60',
  });
  expect(env).not.toHaveProperty('NODE_OPTIONS');
});

it('gives a function nothing the template and Lambda do not give it', () => {
  expect(Object.keys(localEnvironment(fn({ PRESIGN_EXPIRY_SECONDS: '300' }), 'ffprobe')).sort()).toEqual([
    'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
    'LOG_LEVEL',
    'PRESIGN_EXPIRY_SECONDS',
  ]);
});

it("sets the function's memory as Lambda does: the ffprobe step's memory budget follows the template", () => {
  expect(localEnvironment(fn({}), 'ffprobe').AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBe('512');
});

it('refuses a reference to a resource the local run does not stand in for', () => {
  expect(() => localEnvironment(fn({ QUEUE_URL: '<Ref SomeQueue>' }), 'ffprobe')).toThrow(
    "SomeFunction's QUEUE_URL refers to <Ref SomeQueue>, which the local run has no stand-in for",
  );
});
