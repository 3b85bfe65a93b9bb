// @ts-check
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".local/**", "bin/**", "reports/**", ".stryker-tmp/**", "src/local/host/dashboard/**/*.js"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "warn"] }],
      // `require` only as a module loaded on first use: lazyModule(() => require("…")) (src/shared/lazy.ts), which the
      // app and agent bundles follow; everything else imports.
      "@typescript-eslint/no-require-imports": "off",
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "CallExpression[callee.name='require']:not(CallExpression[callee.name='lazyModule'] > ArrowFunctionExpression > CallExpression)",
          message: 'Use import; a module loaded on first use goes through lazyModule(() => require("…")) (src/shared/lazy.ts).',
        },
      ],
    },
  },
  { files: ["src/cli/**", "src/local/**", "bench/**", "scripts/**", "test/**", "dashboard/build.ts"], rules: { "no-console": "off" } },
);
