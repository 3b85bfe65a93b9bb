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
    },
  },
  { files: ["src/cli/**", "src/local/**", "bench/**", "scripts/**", "test/**", "dashboard/build.ts"], rules: { "no-console": "off" } },
);
