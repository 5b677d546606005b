// Several Qt Test classes in one executable (tests/CMakeLists.txt groups them by what they link). Each test
// file registers its class with TM_QTEST(Class) in place of QTEST_MAIN(Class); the shared main
// (qtest_main.cpp) runs the class of the file named by its first argument, e.g. `tm_tests_widgets
// test_widgets -v2`, so ctest keeps one entry per class.
#pragma once

#include <QApplication>
#include <QTest>

namespace tmk::test {

// A test file's main: makes the application and runs the file's test class.
using QTestMain = int (*)(int argc, char** argv);

// Registers `main` under the name of `sourceFile` without folder and extension (__FILE__ -> "test_widgets").
bool registerQTest(const char* sourceFile, QTestMain main);

// What QTEST_MAIN(TestClass) does for a widgets test.
template <typename TestClass> int runQTest(int argc, char** argv)
{
    QTest::Internal::callInitMain<TestClass>();
    QApplication app(argc, argv);
    app.setAttribute(Qt::AA_Use96Dpi, true);
    TestClass test;
    return QTest::qExec(&test, argc, argv);
}

} // namespace tmk::test

// In place of QTEST_MAIN(TestClass).
#define TM_QTEST(TestClass)                                                                                            \
    static const bool tmQTestRegistered = ::tmk::test::registerQTest(__FILE__, &::tmk::test::runQTest<TestClass>)

// For a test file that needs its own main (int function(int argc, char** argv)), e.g. to pick the platform.
#define TM_QTEST_MAIN(function) static const bool tmQTestRegistered = ::tmk::test::registerQTest(__FILE__, &function)
